/** What a read or check refused: its error message, or 'accepted'. */
export function refusalOf(read: () => unknown): string {
  try {
    read()
    return 'accepted'
  } catch (error) {
    return (error as Error).message
  }
}

/** How an AWS SDK call failed: the error's name (SQS's code), message and HTTP status. */
export interface SdkFailure {
  name: string
  message: string
  $metadata?: { httpStatusCode?: number }
}

/** The error an SDK call ends with; a call that succeeds fails the test. */
export async function sdkRefusal(call: Promise<unknown>): Promise<SdkFailure> {
  try {
    await call
  } catch (error) {
    return error as SdkFailure
  }
  throw new Error('the call was accepted where the service refuses it')
}
