/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  setupFiles: ['<rootDir>/test/setup-env.js'],
  setupFilesAfterEnv: ['aws-cdk-lib/testhelpers/jest-autoclean'],
  // Two cores on CI: one worker per core keeps memory and the s3rver/dynalite ports sane.
  maxWorkers: 2,
  // The CDK infra tests grow a worker's heap past 500 MB; such a worker takes longer than Jest's
  // 500 ms grace to exit at the end and is force-killed ("A worker process has failed to exit
  // gracefully"), which looks like a leaked handle but is not. Recycling a worker once it holds
  // more than this after a test file keeps every exit quick, at no measured cost in run time.
  workerIdleMemoryLimit: '512MB',
  testTimeout: 60000,
};
