// What the protocol engine tells the rest of the process as it happens: each
// ACK/NACK, and each configuration change once it has reached a node. Consumers
// (the analyzer's push-latency histogram, tests, benches) subscribe here
// instead of polling proxy status.
import type { WorkloadId } from '../../contracts/index.ts';
import type { ChangeCause, TypeUrl } from '../types.ts';

/** A client's answer to one of our responses. */
export interface AnswerEvent {
  nodeId: string;
  workload?: WorkloadId;
  typeUrl: string;
  /** The version_info of the response answered. */
  version: string;
  nonce: string;
  /** false = NACK (error_detail set). */
  ack: boolean;
  /** The NACK's error message. */
  message?: string;
}

/** One response that carried a change, and how the client answered it. */
export interface PushResponse {
  typeUrl: string;
  version: string;
  nonce: string;
  ack: boolean;
  message?: string;
}

/**
 * A change of one node's resources, emitted once it has been delivered on one
 * stream: every response that carried it was answered, and no part of it
 * waits to be sent. One per stream, cause and cache notification.
 */
export interface PushEvent {
  nodeId: string;
  workload?: WorkloadId;
  cause: ChangeCause;
  /** The types whose resources changed for this node. */
  types: TypeUrl[];
  /** The responses that carried it, in send order; empty when the client needed none (it subscribes to nothing that changed). */
  responses: PushResponse[];
  /** performance.now() when the cache applied the change. */
  changedAt: number;
  /** performance.now() of the last answer (of the delivery, when there was none). */
  answeredAt: number;
}

/** A proxy's ADS stream opened (its first request named the node) or ended. */
export interface StreamEvent {
  nodeId: string;
  workload?: WorkloadId;
  /** The ADS method: state-of-the-world or delta. */
  method: string;
  opened: boolean;
}

type Listener<E> = (event: E) => void;

export class ProtocolEvents {
  private readonly answers = new Set<Listener<AnswerEvent>>();
  private readonly pushes = new Set<Listener<PushEvent>>();
  private readonly streams = new Set<Listener<StreamEvent>>();

  constructor(private readonly log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  onAnswer(listener: Listener<AnswerEvent>): () => void {
    this.answers.add(listener);
    return () => this.answers.delete(listener);
  }

  onPush(listener: Listener<PushEvent>): () => void {
    this.pushes.add(listener);
    return () => this.pushes.delete(listener);
  }

  onStream(listener: Listener<StreamEvent>): () => void {
    this.streams.add(listener);
    return () => this.streams.delete(listener);
  }

  get wantsPushes(): boolean {
    return this.pushes.size > 0;
  }

  get wantsAnswers(): boolean {
    return this.answers.size > 0;
  }

  answer(event: AnswerEvent): void {
    this.emit(this.answers, event, 'answer');
  }

  push(event: PushEvent): void {
    this.emit(this.pushes, event, 'push');
  }

  stream(event: StreamEvent): void {
    this.emit(this.streams, event, 'stream');
  }

  private emit<E>(listeners: Set<Listener<E>>, event: E, what: string): void {
    for (const l of [...listeners]) {
      // A failing consumer must not fail the proxy's stream.
      try {
        l(event);
      } catch (err) {
        this.log(`xds: ${what} listener failed: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
