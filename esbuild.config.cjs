// Options merged into @architect/plugin-typescript's esbuild build of each handler.
// @architect/functions keeps legacy code paths (the v2 `aws-sdk`, and SDK v3
// DynamoDB document clients behind an option this app does not use): leave them
// unresolved rather than bundle SDKs nobody calls.
module.exports = {
  external: ['aws-sdk', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb'],
  target: 'node22',
  // Smaller bundles parse faster on every cold start.
  minify: true,
  keepNames: true,
  legalComments: 'none',
}
