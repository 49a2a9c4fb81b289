import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** wallet-models/ at the project root: one `<template id>.pass` folder per level, plus `default.pass`. */
export const WALLET_MODELS_DIR = resolve(import.meta.dirname, '../../wallet-models');
export const DEFAULT_TEMPLATE = 'default';

export interface PassModel {
  name: string;
  /** Every file of the folder by its path inside the pass (pass.json, icon.png, ru.lproj/pass.strings …). */
  files: Record<string, Buffer>;
  passJson: Record<string, unknown>;
  /** Hash of all files: a redeployed image changes every pass state drawn from this model. */
  hash: string;
}

function readTree(root: string, dir: string, out: Record<string, Buffer>): void {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) readTree(root, path, out);
    else out[relative(root, path).split('\\').join('/')] = readFileSync(path);
  }
}

export function loadModel(dir: string, name: string): PassModel {
  const folder = join(dir, `${name}.pass`);
  const files: Record<string, Buffer> = {};
  readTree(folder, folder, files);
  const raw = files['pass.json'];
  if (!raw) throw new Error(`${folder}: pass.json is missing`);
  if (!files['icon.png']) throw new Error(`${folder}: icon.png is missing (Wallet refuses a pass without it)`);
  const hash = createHash('sha256');
  for (const [path, buf] of Object.entries(files)) hash.update(path).update('\0').update(buf);
  return { name, files, passJson: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, hash: hash.digest('hex') };
}

/** Loads every model folder once; `default.pass` must exist, it is the fallback for levels without a folder. */
export function loadModels(dir: string = WALLET_MODELS_DIR): Map<string, PassModel> {
  if (!existsSync(join(dir, `${DEFAULT_TEMPLATE}.pass`))) throw new Error(`${dir}: ${DEFAULT_TEMPLATE}.pass is missing`);
  const models = new Map<string, PassModel>();
  for (const entry of readdirSync(dir).sort()) {
    if (entry.endsWith('.pass') && statSync(join(dir, entry)).isDirectory()) {
      const name = entry.slice(0, -'.pass'.length);
      models.set(name, loadModel(dir, name));
    }
  }
  return models;
}

/** The model of a template: its own folder, else the default one. */
export function modelFor(models: Map<string, PassModel>, templateId: string): PassModel {
  const m = models.get(templateId) ?? models.get(DEFAULT_TEMPLATE);
  if (!m) throw new Error(`no ${DEFAULT_TEMPLATE} pass model`);
  return m;
}
