// Usage: node watchdog.js <parent pid> <command> [args...]
// Runs the command with this process's stdio and kills it as soon as the parent process is gone, so the
// servers that a test run or the demo starts never outlive it, even when that run is killed outright and
// gets no chance to clean up. Exits with the command's exit code.
'use strict';

const { spawn } = require('child_process');

const [parentArg, command, ...args] = process.argv.slice(2);
const parentPid = Number(parentArg);
if (!Number.isInteger(parentPid) || parentPid <= 0 || !command) {
  console.error('usage: node watchdog.js <parent pid> <command> [args...]');
  process.exit(2);
}

const child = spawn(command, args, { stdio: 'inherit', windowsHide: true });

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return err.code === 'EPERM';
  }
}

function stop(code) {
  clearInterval(timer);
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
  }
  process.exit(code);
}

const timer = setInterval(() => {
  if (!isAlive(parentPid)) stop(1);
}, 500);

child.on('error', err => {
  console.error(`cannot start ${command}: ${err.message}`);
  clearInterval(timer);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  clearInterval(timer);
  process.exit(code === null ? 128 + (signal === 'SIGKILL' ? 9 : 15) : code);
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => stop(1));
}
