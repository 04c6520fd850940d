/**
 * What `trailsight query --athena` needs from the AWS SDK, in a bundle of its own (`dist/cli/athena.js`, see
 * cli/build.mjs): the SDK is most of the query command's code, and local runs should not load it.
 */
export { AthenaClient } from '@aws-sdk/client-athena';
export { runAthenaQuery } from '../lambda/adapters/athena-query-runner';
