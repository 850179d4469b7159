import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real etcd servers and copy real trees: give them room,
    // and keep files sequential so two etcd instances never fight over CPU on a 2-core box.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ['default', './test/support/summaryReporter.ts'],
  },
});
