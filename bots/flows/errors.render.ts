import type { Language, I18n } from '../../core/i18n/i18n.js';
import { DomainError } from '../../core/shared/errors.js';
import type { Keyboard, Reply } from './flow.types.js';

/**
 * The one place where the core's error codes become words: `common:errors.<code>` in the
 * person's language. Anything that is not a DomainError is not the person's mistake: null,
 * and the caller lets it through to the channel's error boundary.
 */
export function renderError(i18n: I18n, lang: Language, err: unknown, keyboard?: Keyboard): Reply | null {
  if (!(err instanceof DomainError)) return null;
  return { text: i18n.t(lang, `common:errors.${err.code}`), ...(keyboard ? { keyboard } : {}) };
}
