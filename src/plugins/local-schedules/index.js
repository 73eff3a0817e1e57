// Architect loads plugins as JavaScript; Node 24 runs the TypeScript it imports.
export { default } from './plugin.ts'
