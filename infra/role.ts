/** What starting a role (api, bots, worker) gives back to the entry point: its start-up lines and its closer. */
export interface RoleHandle {
  summary: string[];
  close(): Promise<void>;
}
