#!/usr/bin/env node
// Entry point of the `vfio-uapi` command: registers tsx so the TypeScript sources run as they are.
//
// tsx's hooks are registered directly with node:module (as `node --import tsx/esm` does, minus its
// main-thread half): tsx's API module loads esbuild into this thread only to call module.register, about
// 70-100 ms of every cold command. The hooks thread loads tsx (and esbuild, on a transform-cache miss) as
// before. Source maps stay on: stack traces, and the spec's declaration sites (spec/dsl/site.ts), are
// TypeScript lines.
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('tsx/esm', { parentURL: import.meta.url, data: {} });
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
