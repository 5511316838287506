#!/usr/bin/env node
// The installed `mind` command: runs the built CLI (npm run build makes dist/).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv);
