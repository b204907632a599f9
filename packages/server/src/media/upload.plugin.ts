// PLACEHOLDER until the media work lands.
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';

export function createUploadPlugin(_limits: Config['uploads']): Plugin {
  return {};
}
