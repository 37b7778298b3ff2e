// The capture thread asks the OS scheduler to favour it. On Linux the nice value belongs to each
// thread (setpriority on the caller's own task), so this favours the socket reads and nothing else
// of the process: on a loaded machine a store, a report or another program waits, not the feed.
import os from 'node:os';

export interface ThreadPriority {
  /** The nice value asked for. */
  asked: number;
  /** The thread's nice value now. */
  nice: number;
  /** Why the OS refused (a lower nice than the process's needs root, CAP_SYS_NICE or RLIMIT_NICE). */
  refused?: string;
}

/** Sets the calling thread's nice value; never throws (capture runs either way). */
export function setThreadNice(asked: number): ThreadPriority {
  try {
    os.setPriority(asked);
    return { asked, nice: os.getPriority() };
  } catch (e) {
    // Node's SystemError carries the OS's code (EACCES) in `info`; its own code is generic.
    const err = e as NodeJS.ErrnoException & { info?: { code?: string } };
    return { asked, nice: os.getPriority(), refused: err.info?.code ?? err.code ?? String(e) };
  }
}
