package org.lori4j.server;

import sun.misc.Signal;

/**
 * Ctrl-C (SIGINT) and SIGTERM as a request to stop: the server drains and the command returns normally, so the
 * process exits 0 instead of the JVM's 130/143 after its shutdown hooks.
 */
final class Signals {
    private Signals() {}

    static void onTerminate(Runnable action) {
        for (String name : new String[]{"INT", "TERM"}) {
            try {
                Signal.handle(new Signal(name), s -> action.run());
            } catch (IllegalArgumentException e) {
                // the signal is not available here (or reserved by the JVM's options): the default behaviour stays
            }
        }
    }
}
