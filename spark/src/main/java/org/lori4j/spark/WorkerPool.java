package org.lori4j.spark;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.function.Supplier;

/**
 * What an executor JVM keeps between tasks: loaded models (with their data and adapters), one per task running at a
 * time, keyed by what they were built from. A standalone executor with one core loads a model once for the whole
 * application; {@code local[N]} (N tasks in one JVM) holds up to N. {@link #closeAll} releases them.
 */
final class WorkerPool {
    private static final Map<Object, ConcurrentLinkedDeque<AutoCloseable>> IDLE = new ConcurrentHashMap<>();

    private WorkerPool() {}

    /** An idle instance built from KEY, or a new one from MAKE; give it back with {@link #release}. */
    @SuppressWarnings("unchecked")
    static <T extends AutoCloseable> T acquire(Object key, Supplier<T> make) {
        AutoCloseable c = IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).pollFirst();
        return c != null ? (T) c : make.get();
    }

    /** Returns an instance for the next task with the same key. */
    static void release(Object key, AutoCloseable instance) {
        IDLE.computeIfAbsent(key, k -> new ConcurrentLinkedDeque<>()).addFirst(instance);
    }

    /** Drops an instance a task left in an unknown state. */
    static void discard(AutoCloseable instance) {
        closeQuietly(instance);
    }

    /** Closes every idle instance (a local run's models, when the run ends). */
    static void closeAll() {
        for (ConcurrentLinkedDeque<AutoCloseable> q : IDLE.values()) {
            AutoCloseable c;
            while ((c = q.pollFirst()) != null) closeQuietly(c);
        }
        IDLE.clear();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // releasing memory only
        }
    }
}
