/**
 * The groups service: groups, membership and levels (`group.*` commands and queries), and
 * group events (`event.create` with a `group`), whose acceptance flows — imposed on
 * subordinates in a hierarchical group, pending until everyone accepts in a flat one — the
 * store decides and this service announces to every member concerned. Anything else is the
 * users service's and is refused here.
 *
 * Stateless like the users service: any replica handles any request, once.
 */
import type { Op } from '../protocol/ops.js';
import { passThrough } from '../services/pass-through.js';
import type {
  LogicService,
  ServiceAnswer,
  ServiceDependencies,
  ServiceRequest,
} from '../services/ports.js';
import { notForThisService, ServiceHandler } from '../services/service-handler.js';
import type { OperationCall } from '../services/service-handler.js';

export class GroupsService implements LogicService {
  readonly name = 'groups' as const;
  private readonly handler: ServiceHandler;

  constructor(deps: ServiceDependencies) {
    this.handler = new ServiceHandler('groups', deps, (op, call) => this.perform(op, call));
  }

  /** See {@link LogicService.handle}. */
  handle(request: ServiceRequest, signal: AbortSignal): Promise<ServiceAnswer> {
    return this.handler.handle(request, signal);
  }

  private perform(op: Op, call: OperationCall): Promise<ServiceAnswer> {
    // Every op routed to this service is a store op (see serviceFor); the check keeps it so
    // if routing ever changes.
    if (op.type !== 'command' && op.type !== 'query') {
      return Promise.reject(notForThisService(this.name, op));
    }
    return passThrough(op, call.request, call.store);
  }
}
