/**
 * JSON text carried as it was written, for a reader that passes it on rather than looking
 * inside: the DB's answer to a read goes through a users service and a gateway to the
 * client, and each hop used to parse it and write it again (a group agenda's answer is
 * hundreds of entries: tens of thousands of objects per reply, which a process under load
 * promotes to its old space only to drop). A hop that relays it keeps the text; one that
 * looks inside calls `value()`; `JSON.stringify` of anything holding one writes its value,
 * so a hop that does not know about it still writes the right JSON.
 */
export class JsonText {
  constructor(readonly text: string) {}

  value(): unknown {
    return JSON.parse(this.text) as unknown;
  }

  toJSON(): unknown {
    return this.value();
  }
}

/** A result as it is: a parsed value, or the value of the {@link JsonText} a relay kept. */
export function resultValue(result: unknown): unknown {
  return result instanceof JsonText ? result.value() : result;
}
