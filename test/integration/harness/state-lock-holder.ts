/**
 * Run by cni-kill.test.ts as a separate process, to be killed with SIGKILL: opens the node state
 * the way the plugin does, takes its write lock (BEGIN IMMEDIATE), writes enough uncommitted pages
 * that SQLite spills them into the WAL, prints "held" and waits. The test then starts plugins
 * that queue on the lock and kills this process under them, as a runtime may kill a plugin in
 * the middle of its transaction.
 * Usage: bun state-lock-holder.ts DATA_DIR
 */
import { Database } from "bun:sqlite";
import { NodeState } from "../../../src/node-state/node-state.ts";

const [dataDir] = process.argv.slice(2);
if (dataDir === undefined) {
  process.stderr.write("usage: state-lock-holder.ts DATA_DIR\n");
  process.exit(2);
}
// Opened (and its schema created) through NodeState, so the file is where and what the plugin uses.
const state = NodeState.open(dataDir);
const path = state.path;
state.close();
const db = new Database(path, { readwrite: true });
// A page cache of a few pages forces the uncommitted writes out into the WAL file, so the
// processes after us must tell committed frames from a dead writer's (SQLite's WAL recovery).
db.run("PRAGMA cache_size = 4");
db.run("BEGIN IMMEDIATE");
db.run("CREATE TABLE lock_holder_scratch (filler BLOB NOT NULL)");
const insert = db.query<unknown, [Uint8Array]>("INSERT INTO lock_holder_scratch (filler) VALUES (?)");
for (let i = 0; i < 512; i++) insert.run(new Uint8Array(4096).fill(i & 0xff));
process.stdout.write("held\n");
// Wait for the SIGKILL. The timer keeps the event loop alive and, by referring to the connection,
// keeps it from being garbage-collected: collecting it would close it and roll the transaction back.
setInterval(() => db.inTransaction, 60_000);
