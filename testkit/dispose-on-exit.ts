/**
 * The last resort of everything that builds namespaces, starts processes or writes temp files for
 * a test or a benchmark: a synchronous disposer that runs when the process exits, or on Ctrl-C,
 * SIGTERM or SIGHUP, unless its owner unregistered it after cleaning up itself. Synchronous
 * because an "exit" handler cannot wait for anything.
 */

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type Signal = keyof typeof SIGNAL_NUMBERS;
const SIGNALS = Object.keys(SIGNAL_NUMBERS) as Signal[];

interface Registration {
  readonly dispose: () => void;
  readonly signalNotice: string | undefined;
}

const registrations = new Set<Registration>();

function runAll(): void {
  for (const r of [...registrations]) {
    registrations.delete(r);
    try {
      r.dispose();
    } catch {
      // exiting anyway: clean up as much as possible
    }
  }
}

function onSignal(signal: Signal): void {
  for (const r of registrations) if (r.signalNotice) process.stderr.write(`\n${signal}: ${r.signalNotice}\n`);
  runAll();
  // The shell's convention for "killed by signal N", which the default action would also give.
  process.exit(128 + SIGNAL_NUMBERS[signal]);
}

function install(): void {
  process.on("exit", runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off("exit", runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/**
 * Registers `dispose` to run if the process exits or is signalled before the returned function
 * unregisters it. `signalNotice` is printed on stderr when a signal arrives (what is being
 * removed), so an interrupted benchmark says why it is still busy.
 */
export function disposeOnExit(dispose: () => void, signalNotice?: string): () => void {
  if (registrations.size === 0) install();
  const registration = { dispose, signalNotice };
  registrations.add(registration);
  return () => {
    if (registrations.delete(registration) && registrations.size === 0) uninstall();
  };
}
