// npm run bench: every benchmark against the real servers of `npm run infra:up`, each side by side
// with the raw driver doing the same work in the same run. Results: bench/results/.
console.log('benchmarks: see bench/README.md');
