import { writeFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { ROOT } from './lib/app-copy.ts'
import { SETTINGS_DOC, settingsDocument } from './lib/settings-doc.ts'

/** `npm run docs:settings`: writes docs/settings.md from the code's settings tables. */
await writeFile(SETTINGS_DOC, await settingsDocument())
console.log(`${relative(ROOT, SETTINGS_DOC)} written`)
