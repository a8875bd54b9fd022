import { jest } from '@jest/globals';
import { withJwtAuth } from './support/app.js';
import { fullStack } from './support/full-stack.js';
import { describeOrderingApi } from './support/ordering-api.suite.js';

// The full-stack suite again with AUTH_MODE=jwt (as an admin): authentication changes no behaviour over Kafka.
jest.setTimeout(60_000);

describeOrderingApi(withJwtAuth(fullStack));
