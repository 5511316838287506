// Runs the `mind` command from the TypeScript sources (npm run mind -- <args>).
import { main } from '../src/cli.js';

process.exitCode = await main(process.argv);
