// Line reader shared by the launcher's helper processes (the watchdog and the remote guard), which take their
// commands as text lines on stdin: calls `onLine` with each complete, trimmed line.

export function onStdinLines(onLine) {
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (text) => {
    buffered += text;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
}
