/** Downloads in progress (TFTP and HTTP), for /api/transfers and the status page. */

export interface TransferInfo {
  id: number;
  service: 'tftp' | 'http';
  /** Client address (and port), e.g. `10.77.0.11:2070`. */
  client: string;
  mac: string | null;
  file: string;
  /** Bytes in the whole file, or null when unknown. */
  size: number | null;
  bytesDone: number;
  startedAt: number;
}

export interface TransferHandle {
  readonly info: TransferInfo;
  /** Sets the bytes sent so far (cheap: a field write, fine on the hot path). */
  progress(bytesDone: number): void;
  /** Removes it from the active list. */
  end(): void;
}

export class TransferRegistry {
  private nextId = 1;
  private readonly active = new Map<number, TransferInfo>();

  begin(transfer: Omit<TransferInfo, 'id' | 'bytesDone' | 'startedAt'>): TransferHandle {
    const info: TransferInfo = { ...transfer, id: this.nextId++, bytesDone: 0, startedAt: Date.now() };
    this.active.set(info.id, info);
    return {
      info,
      progress: (bytesDone) => {
        info.bytesDone = bytesDone;
      },
      end: () => {
        this.active.delete(info.id);
      },
    };
  }

  list(): TransferInfo[] {
    return [...this.active.values()];
  }

  get size(): number {
    return this.active.size;
  }
}
