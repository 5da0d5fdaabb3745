package org.lori4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Off-heap memory for repacked weights. Large models get it from the C allocator: {@code Arena.allocate} counts
 * against {@code -XX:MaxDirectMemorySize} (by default the heap size), so a 14 GB bf16 model would need an absurd
 * heap just to be allowed to exist; malloc'd memory has no such cap. The first {@link #ARENA_BUDGET} bytes come from
 * an automatic arena instead, so a small model never links the C allocator (linking a native function costs a
 * cold JVM a noticeable part of its start-up). The memory is freed when the returned segment becomes
 * unreachable. Falls back to an automatic arena if the C allocator cannot be linked.
 */
final class NativeMemory {
    /** Bytes served from automatic arenas before the C allocator is used. */
    static final long ARENA_BUDGET = 64L << 20;
    private static final java.util.concurrent.atomic.AtomicLong fromArena = new java.util.concurrent.atomic.AtomicLong();

    /** The C allocator's functions, linked on first use. */
    private static final class C {
        static final MethodHandle ALIGNED_ALLOC;
        static final MethodHandle FREE;

        static {
            MethodHandle alloc = null, free = null;
            try {
                Linker linker = Linker.nativeLinker();
                alloc = linker.downcallHandle(linker.defaultLookup().find("aligned_alloc").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
                free = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(),
                        FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
            } catch (RuntimeException | Error e) {
                alloc = null;
                free = null;
            }
            ALIGNED_ALLOC = alloc;
            FREE = free;
        }
    }

    private NativeMemory() {}

    /** An uninitialised segment of {@code bytes} bytes, 64-byte aligned. */
    static MemorySegment allocate(long bytes) {
        long size = Math.max(64, (bytes + 63) & ~63L);
        if (fromArena.addAndGet(size) > ARENA_BUDGET && C.ALIGNED_ALLOC != null) {
            fromArena.addAndGet(-size);
            try {
                MemorySegment p = (MemorySegment) C.ALIGNED_ALLOC.invokeExact(64L, size);
                if (p.address() != 0) {
                    return p.reinterpret(bytes, Arena.ofAuto(), NativeMemory::release);
                }
            } catch (Throwable t) {
                // fall through to the arena
            }
        }
        return Arena.ofAuto().allocate(Math.max(1, bytes), 64);
    }

    private static void release(MemorySegment s) {
        try {
            C.FREE.invokeExact(s);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
