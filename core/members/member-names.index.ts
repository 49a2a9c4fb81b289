/** A member's name as the index compares it: lower case, ё as е, single spaces. */
export const nameKey = (name: string): string => name.toLocaleLowerCase('ru').replaceAll('ё', 'е').replace(/\s+/g, ' ').trim();

interface Entry {
  key: string;
  id: string;
}

export interface NameIndexOptions {
  /** The index is read again from the members once older than this (default 10 min). */
  rebuildAfterMs: number;
}

/**
 * Name look-ups on the embedded store, from memory. FerretDB v1 reads the whole members
 * collection for a name filter (17 s a search at 100,000 members); this index answers a name
 * prefix by binary search. It is read from the members in the background (the first search
 * starts it; until it is ready, searches go to the store as before), kept up to date in this
 * process as members join or are renamed (`add`), and read again every `rebuildAfterMs` for
 * changes made elsewhere (an import's renames, another process). Hits are candidates only:
 * the caller reads each member and keeps those whose current name still matches and who are
 * not erased, so a stale entry can hide nobody's privacy and show nobody wrongly.
 * About 150 bytes a member (15 MB at 100,000).
 */
export function createNameIndex(deps: { scan(): AsyncGenerator<{ id: string; name: string }>; now(): number; options?: Partial<NameIndexOptions>; onError?: (err: unknown) => void }) {
  const o: NameIndexOptions = { rebuildAfterMs: 600_000, ...deps.options };
  let sorted: Entry[] | null = null;
  let builtAt = 0;
  // Members who joined or were renamed since the last build (few: looked through one by one).
  let recent: Entry[] = [];
  let building: Promise<void> | null = null;

  async function build(): Promise<void> {
    const startedAt = deps.now();
    const pending: Entry[] = [];
    // What is added while the build reads goes to both, so nothing falls between them.
    const before = recent.length;
    for await (const m of deps.scan()) pending.push({ key: nameKey(m.name), id: m.id });
    pending.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    sorted = pending;
    builtAt = startedAt;
    recent = recent.slice(before);
  }

  function rebuild(): void {
    building ??= build()
      .catch((err: unknown) => deps.onError?.(err))
      .finally(() => {
        building = null;
      });
  }

  return {
    /** Reads the index now (at start, so the first search finds it ready); resolves when built. */
    async ready(): Promise<void> {
      if (!sorted) rebuild();
      await building;
    },
    /** A member joined or was renamed in this process. */
    add(id: string, name: string): void {
      recent.push({ key: nameKey(name), id });
    },
    /**
     * Ids of members whose name starts with `prefix` (case and ё aside), at most `limit` in name
     * order; null while the index is not ready (the caller asks the store).
     */
    candidates(prefix: string, limit: number): string[] | null {
      if (!sorted || deps.now() - builtAt > o.rebuildAfterMs) rebuild();
      if (!sorted) return null;
      const p = nameKey(prefix);
      const keyAt = (i: number): string => sorted?.[i]?.key ?? '';
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keyAt(mid) < p) lo = mid + 1;
        else hi = mid;
      }
      const hits: Entry[] = [];
      for (const e of sorted.slice(lo, lo + limit)) {
        if (!e.key.startsWith(p)) break;
        hits.push(e);
      }
      for (const e of recent) if (e.key.startsWith(p)) hits.push(e);
      hits.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      return [...new Set(hits.map((e) => e.id))].slice(0, limit);
    },
  };
}
