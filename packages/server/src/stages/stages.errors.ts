// Expected failures of the prompt stages, with stable codes. No GraphQL here.
import { AtelierError } from '../domain-errors.ts';

/** Which input text a safety check rejected. */
export type PromptField = 'prompt' | 'negativePrompt';

/**
 * The prompt or negative prompt contains a term of the server's blocklist (TRANSLATE
 * stage safety check). The message never repeats the term: it goes back to the client and
 * into logs and UIs, and echoing abusive text is exactly what the check prevents.
 */
export class ContentBlockedError extends AtelierError {
  readonly code = 'CONTENT_BLOCKED';
  constructor(
    /** The input field that was rejected. */
    readonly field: PromptField,
    /** True when the term was found only in the LLM's English translation. */
    readonly afterTranslation = false,
  ) {
    const what = field === 'prompt' ? 'The prompt' : 'The negative prompt';
    super(
      `${what} contains a term that is not allowed on this server${
        afterTranslation ? ' (found in its English translation)' : ''
      }. Please rephrase it.`,
    );
    this.name = 'ContentBlockedError';
  }
}

/**
 * IMAGE_TO_AUDIO without words for the sound: no prompt, and the source image could not be
 * described (no LLM that sees images, or it failed).
 */
export class ImageNotDescribedError extends AtelierError {
  readonly code = 'IMAGE_NOT_DESCRIBED';
  constructor(reason: string) {
    super(`The source image could not be described (${reason}) and the run has no prompt.`);
    this.name = 'ImageNotDescribedError';
  }
}
