/** What a read or check refused: its error message, or 'accepted'. */
export function refusalOf(read: () => unknown): string {
  try {
    read()
    return 'accepted'
  } catch (error) {
    return (error as Error).message
  }
}
