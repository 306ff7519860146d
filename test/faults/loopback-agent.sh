#!/bin/sh
# Launch agent of the fault tests: runs the command string on this machine; the "host" is a loopback address.
shift
exec sh -c "$*"
