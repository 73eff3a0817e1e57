import { startSandbox, stopSandbox } from './sandbox.ts'

// `npm start`: the whole system on one machine until Ctrl-C.
try {
  await startSandbox()
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopSandbox().finally(() => process.exit(0))
  })
}
