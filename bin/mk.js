#!/usr/bin/env node
// Loader only: everything lives in dist/ (compiled from src/).
import { main } from '../dist/cli/main.js';
main(process.argv);
