/**
 * The calendar parser's worker thread (see calendar-parser.ts): parses each file it is sent,
 * in order, and answers the result or the refusal as a wire error.
 */
import { parentPort } from 'node:worker_threads';
import { importICalendar } from '../domain/index.js';
import { asAgendaError } from '../../contract/errors.js';
import type { ParseReply, ParseRequest } from './calendar-parser.js';

const port = parentPort;
if (port === null) throw new Error('calendar-parser-worker.ts runs only as a worker thread');
port.on('message', (request: ParseRequest) => {
  let reply: ParseReply;
  try {
    reply = { seq: request.seq, ok: true, result: importICalendar(request.text, request.options) };
  } catch (error) {
    reply = { seq: request.seq, ok: false, error: asAgendaError(error).toWire() };
  }
  port.postMessage(reply);
});
