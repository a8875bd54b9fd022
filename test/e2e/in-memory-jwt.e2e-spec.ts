import { inMemoryStore, withJwtAuth } from './support/app.js';
import { describeOrderingApi } from './support/ordering-api.suite.js';

// The whole ordering suite again with AUTH_MODE=jwt (as an admin): authentication changes no behaviour.
describeOrderingApi(withJwtAuth(inMemoryStore));
