package org.lori4j.adapter;

import org.lori4j.io.LoriException;
import org.lori4j.tensor.DType;
import org.lori4j.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads a dict of tensors saved by {@code torch.save} (the zip format of PyTorch 1.6+: {@code
 * <name>/data.pkl} plus one raw little-endian file per storage under {@code <name>/data/}) without
 * running any code. The pickle is interpreted by a small stack machine that knows only the opcodes
 * torch uses for such dicts and only a whitelist of globals ({@code torch._utils._rebuild_tensor_v2},
 * {@code torch._utils._rebuild_parameter}, {@code collections.OrderedDict} and the typed storage
 * classes); anything else is refused with a one-line {@link LoriException}. Used for LoRI's
 * {@code masks/<s>_mask.pt} and old {@code adapter_model.bin} files.
 */
public final class TorchPickle {
    private TorchPickle() {}

    /** Largest storage (bytes) a single entry may declare; far above any real adapter tensor. */
    private static final long MAX_STORAGE_BYTES = 1L << 40;
    /** Largest data.pkl, counted in bytes actually inflated (a zip may claim any size). */
    static final long MAX_PICKLE_BYTES = 64L << 20;

    /** Reads the file's top-level dict of name -> tensor (tensors are contiguous copies in the automatic arena). */
    public static Map<String, Tensor> readTensors(Path file) {
        if (!Files.isRegularFile(file)) throw new LoriException(file + ": file not found");
        try {
            byte[] head = new byte[4];
            try (InputStream in = Files.newInputStream(file)) {
                if (in.readNBytes(head, 0, 4) < 4) throw new LoriException(file + ": not a torch file (too short)");
            }
            if (!(head[0] == 'P' && head[1] == 'K'))
                throw new LoriException(file + ": not a torch zip file (the legacy pre-1.6 torch format is not supported)");
            try (ZipFile zip = new ZipFile(file.toFile())) {
                return read(zip, file);
            }
        } catch (ZipException e) {
            throw new LoriException(file + ": corrupt torch zip file: " + e.getMessage());
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        }
    }

    private static Map<String, Tensor> read(ZipFile zip, Path file) throws IOException {
        ZipEntry pkl = null;
        for (var en = zip.entries(); en.hasMoreElements(); ) {
            ZipEntry e = en.nextElement();
            if (e.getName().endsWith("data.pkl") && (e.getName().equals("data.pkl") || e.getName().endsWith("/data.pkl"))) {
                if (pkl != null) throw new LoriException(file + ": corrupt torch file: more than one data.pkl");
                pkl = e;
            }
        }
        if (pkl == null) throw new LoriException(file + ": not a torch file: no data.pkl in the zip");
        String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
        ZipEntry order = zip.getEntry(prefix + "byteorder");
        if (order != null) {
            String bo;
            try (InputStream in = zip.getInputStream(order)) {
                bo = new String(in.readNBytes(64), StandardCharsets.US_ASCII).trim();
            }
            if (!bo.equals("little")) throw new LoriException(file + ": byte order '" + bo + "' is not supported");
        }
        if (pkl.getSize() > MAX_PICKLE_BYTES) throw new LoriException(file + ": corrupt torch file: data.pkl is too large");
        byte[] bytes;
        try (InputStream in = zip.getInputStream(pkl)) {
            bytes = in.readNBytes((int) MAX_PICKLE_BYTES + 1);   // what inflates, not what the zip claims
        }
        if (bytes.length > MAX_PICKLE_BYTES)
            throw new LoriException(file + ": corrupt torch file: data.pkl inflates to more than " + (MAX_PICKLE_BYTES >> 20) + " MiB");
        Object result = new Machine(bytes, zip, prefix, file).run();
        Map<?, ?> dict = result instanceof Map<?, ?> m ? m : null;
        if (dict == null)
            throw new LoriException(file + ": expected a dict of tensors, found " + describe(result));
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : dict.entrySet()) {
            if (!(e.getKey() instanceof String k)) throw new LoriException(file + ": dict key " + describe(e.getKey()) + " is not a string");
            if (!(e.getValue() instanceof Tensor t)) throw new LoriException(file + ": value of '" + k + "' is not a tensor but " + describe(e.getValue()));
            out.put(k, t);
        }
        return out;
    }

    private static String describe(Object o) {
        if (o == null) return "None";
        if (o instanceof Tuple) return "a tuple";
        if (o instanceof List) return "a list";
        if (o instanceof Global g) return g.module + "." + g.name;
        return "a " + o.getClass().getSimpleName();
    }

    // ------------------------------------------------------------------ values of the pickle machine

    private record Tuple(Object[] items) {}
    private record Global(String module, String name) {}
    private record StorageRef(DType dtype, String key, long numel) {}
    private enum Mark { MARK }

    private static final Set<String> CALLABLES = Set.of(
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "collections.OrderedDict");

    private static final Map<String, DType> STORAGES = Map.ofEntries(
            Map.entry("BoolStorage", DType.BOOL), Map.entry("FloatStorage", DType.F32),
            Map.entry("HalfStorage", DType.F16), Map.entry("BFloat16Storage", DType.BF16),
            Map.entry("DoubleStorage", DType.F64), Map.entry("LongStorage", DType.I64),
            Map.entry("IntStorage", DType.I32), Map.entry("ShortStorage", DType.I16),
            Map.entry("CharStorage", DType.I8), Map.entry("ByteStorage", DType.U8));

    /** The pickle stack machine over one data.pkl. */
    private static final class Machine {
        private final byte[] b;
        private final ZipFile zip;
        private final String prefix;
        private final Path file;
        private int pos;
        private final ArrayList<Object> stack = new ArrayList<>();
        private final ArrayList<Integer> marks = new ArrayList<>();
        private final HashMap<Long, Object> memo = new HashMap<>();
        private final HashMap<String, MemorySegment> storages = new HashMap<>();

        Machine(byte[] b, ZipFile zip, String prefix, Path file) {
            this.b = b; this.zip = zip; this.prefix = prefix; this.file = file;
        }

        private LoriException corrupt(String what) {
            return new LoriException(file + ": corrupt or unsupported pickle: " + what + " (at byte " + pos + ")");
        }

        private int u8() {
            if (pos >= b.length) throw corrupt("unexpected end of data");
            return b[pos++] & 0xff;
        }

        private long le(int n) {
            if (pos + n > b.length) throw corrupt("unexpected end of data");
            long v = 0;
            for (int i = 0; i < n; i++) v |= (long) (b[pos + i] & 0xff) << (8 * i);
            pos += n;
            return v;
        }

        private String utf8(long len) {
            if (len < 0 || len > b.length - pos) throw corrupt("string length " + Long.toUnsignedString(len) + " runs past the end");
            String s = new String(b, pos, (int) len, StandardCharsets.UTF_8);
            pos += (int) len;
            return s;
        }

        private String line() {
            int start = pos;
            while (pos < b.length && b[pos] != '\n') pos++;
            if (pos >= b.length) throw corrupt("unterminated GLOBAL name");
            String s = new String(b, start, pos - start, StandardCharsets.UTF_8);
            pos++;
            return s;
        }

        private void push(Object o) { stack.add(o); }

        private Object pop() {
            if (stack.isEmpty() || (!marks.isEmpty() && stack.size() <= marks.getLast())) throw corrupt("stack underflow");
            return stack.removeLast();
        }

        private Object top() {
            if (stack.isEmpty()) throw corrupt("stack underflow");
            return stack.getLast();
        }

        /** Pops everything above the last MARK (and the mark). */
        private List<Object> popMark() {
            if (marks.isEmpty()) throw corrupt("no MARK on the stack");
            int m = marks.removeLast();
            List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
            while (stack.size() > m) stack.removeLast();
            return items;
        }

        Object run() {
            if (b.length == 0) throw corrupt("empty pickle");
            while (true) {
                int op = u8();
                switch (op) {
                    case 0x80 -> { int proto = u8(); if (proto > 5) throw corrupt("pickle protocol " + proto); } // PROTO
                    case 0x95 -> le(8); // FRAME: length of the next frame, irrelevant when reading from memory
                    case '}' -> push(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
                    case ']' -> push(new ArrayList<Object>()); // EMPTY_LIST
                    case ')' -> push(new Tuple(new Object[0])); // EMPTY_TUPLE
                    case '(' -> marks.add(stack.size()); // MARK
                    case 'X' -> push(utf8(le(4))); // BINUNICODE
                    case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                    case 0x8d -> push(utf8(le(8))); // BINUNICODE8
                    case 'K' -> push((long) u8()); // BININT1
                    case 'M' -> push(le(2)); // BININT2
                    case 'J' -> push((long) (int) le(4)); // BININT (signed)
                    case 0x8a -> push(long1()); // LONG1
                    case 'G' -> { // BINFLOAT, big-endian double
                        long bits = 0;
                        for (int i = 0; i < 8; i++) bits = (bits << 8) | u8();
                        push(Double.longBitsToDouble(bits));
                    }
                    case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                    case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                    case 'N' -> push(null); // NONE
                    case 'c' -> push(global(line(), line())); // GLOBAL
                    case 0x93 -> { // STACK_GLOBAL
                        Object name = pop(), module = pop();
                        if (!(name instanceof String n) || !(module instanceof String m)) throw corrupt("STACK_GLOBAL needs two strings");
                        push(global(m, n));
                    }
                    case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                    case 0x85 -> push(new Tuple(new Object[]{pop()})); // TUPLE1
                    case 0x86 -> { Object y = pop(), x = pop(); push(new Tuple(new Object[]{x, y})); } // TUPLE2
                    case 0x87 -> { Object z = pop(), y = pop(), x = pop(); push(new Tuple(new Object[]{x, y, z})); } // TUPLE3
                    case 't' -> push(new Tuple(popMark().toArray())); // TUPLE
                    case 'R' -> { // REDUCE
                        Object args = pop(), fn = pop();
                        if (!(args instanceof Tuple t)) throw corrupt("REDUCE arguments are not a tuple");
                        push(call(fn, t.items));
                    }
                    case 's' -> { Object v = pop(), k = pop(); dict(top()).put(key(k), v); } // SETITEM
                    case 'u' -> { // SETITEMS
                        List<Object> kv = popMark();
                        if (kv.size() % 2 != 0) throw corrupt("SETITEMS with an odd number of items");
                        Map<Object, Object> d = dict(top());
                        for (int i = 0; i < kv.size(); i += 2) d.put(key(kv.get(i)), kv.get(i + 1));
                    }
                    case 'a' -> { Object v = pop(); list(top()).add(v); } // APPEND
                    case 'e' -> { List<Object> items = popMark(); list(top()).addAll(items); } // APPENDS
                    case 'h' -> push(memoGet(u8())); // BINGET
                    case 'j' -> push(memoGet(le(4))); // LONG_BINGET
                    case 'q' -> memo.put((long) u8(), top()); // BINPUT
                    case 'r' -> memo.put(le(4), top()); // LONG_BINPUT
                    case 0x94 -> memo.put((long) memo.size(), top()); // MEMOIZE
                    case '.' -> { // STOP
                        if (stack.size() != 1 || !marks.isEmpty()) throw corrupt("STOP with " + stack.size() + " items on the stack");
                        return stack.getFirst();
                    }
                    default -> throw corrupt(String.format("opcode 0x%02x ('%s') is not allowed", op,
                            op >= 32 && op < 127 ? String.valueOf((char) op) : "?"));
                }
            }
        }

        private long long1() {
            int n = u8();
            if (n == 0) return 0;
            if (n > 8) throw corrupt("integer of " + n + " bytes is too large");
            long v = le(n);
            if (n < 8 && (v & (1L << (8 * n - 1))) != 0) v |= -1L << (8 * n); // sign-extend
            return v;
        }

        /** A dict key: a string or a number (a container as key could contain itself, and hashing it never ends). */
        private Object key(Object k) {
            if (k == null || k instanceof String || k instanceof Long || k instanceof Boolean || k instanceof Double) return k;
            throw corrupt("dict key " + describe(k) + " (only strings and numbers)");
        }

        private Object memoGet(long key) {
            if (!memo.containsKey(key)) throw corrupt("memo key " + key + " not defined");
            return memo.get(key);
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> dict(Object o) {
            if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
            throw corrupt("SETITEM(S) on " + describe(o));
        }

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o) {
            if (o instanceof ArrayList<?> l) return (List<Object>) l;
            throw corrupt("APPEND(S) on " + describe(o));
        }

        private Global global(String module, String name) {
            String full = module + "." + name;
            if (CALLABLES.contains(full)) return new Global(module, name);
            if (module.equals("torch") && STORAGES.containsKey(name)) return new Global(module, name);
            throw new LoriException(file + ": refusing pickle global " + full + " (only tensor dicts can be read)");
        }

        private Object call(Object fn, Object[] a) {
            if (!(fn instanceof Global g)) throw corrupt("REDUCE on " + describe(fn));
            String full = g.module + "." + g.name;
            switch (full) {
                case "collections.OrderedDict" -> {
                    if (a.length != 0) throw corrupt("OrderedDict with arguments");
                    return new LinkedHashMap<Object, Object>();
                }
                case "torch._utils._rebuild_tensor_v2" -> { return rebuildTensor(a); }
                case "torch._utils._rebuild_parameter" -> {
                    if (a.length < 1 || !(a[0] instanceof Tensor t)) throw corrupt("_rebuild_parameter without a tensor");
                    return t;
                }
                default -> throw new LoriException(file + ": refusing to call " + full);
            }
        }

        /** ('storage', StorageClass, key, location, numel) -> the storage bytes. */
        private Object persistentLoad(Object pid) {
            if (!(pid instanceof Tuple t) || t.items.length != 5 || !"storage".equals(t.items[0]))
                throw corrupt("unsupported persistent id");
            if (!(t.items[1] instanceof Global g) || !STORAGES.containsKey(g.name)) throw corrupt("unknown storage type");
            if (!(t.items[2] instanceof String key) || !(t.items[4] instanceof Long numel) || numel < 0)
                throw corrupt("malformed storage reference");
            if (numel > MAX_STORAGE_BYTES / STORAGES.get(g.name).bytes()) throw corrupt("storage of " + numel + " elements");
            if (!key.matches("[A-Za-z0-9_]+")) throw corrupt("bad storage key '" + key + "'");
            return new StorageRef(STORAGES.get(g.name), key, numel);
        }

        private MemorySegment storageBytes(StorageRef s) {
            MemorySegment seg = storages.get(s.key);
            if (seg != null) return seg;
            ZipEntry e = zip.getEntry(prefix + "data/" + s.key);
            if (e == null) throw new LoriException(file + ": corrupt torch file: storage " + s.key + " is missing");
            long bytes = s.numel * s.dtype.bytes();
            if (bytes > MAX_STORAGE_BYTES) throw corrupt("storage of " + bytes + " bytes");
            if (e.getMethod() != ZipEntry.STORED)
                throw new LoriException(file + ": corrupt torch file: storage " + s.key + " is compressed");
            if (e.getSize() != bytes)
                throw new LoriException(file + ": corrupt torch file: storage " + s.key + " has " + e.getSize()
                        + " bytes, expected " + bytes);
            seg = Arena.ofAuto().allocate(Math.max(bytes, 1), 64).asSlice(0, bytes);
            try (InputStream in = zip.getInputStream(e)) {
                byte[] buf = new byte[1 << 20];
                long off = 0;
                while (off < bytes) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, bytes - off));
                    if (n < 0) throw new LoriException(file + ": corrupt torch file: storage " + s.key + " is truncated");
                    MemorySegment.copy(buf, 0, seg, ValueLayout.JAVA_BYTE, off, n);
                    off += n;
                }
            } catch (IOException ex) {
                throw new LoriException(file + ": cannot read storage " + s.key + ": " + ex.getMessage());
            }
            storages.put(s.key, seg);
            return seg;
        }

        /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
        private Tensor rebuildTensor(Object[] a) {
            if (a.length < 6 || a.length > 7) throw corrupt("_rebuild_tensor_v2 with " + a.length + " arguments");
            if (!(a[0] instanceof StorageRef s)) throw corrupt("_rebuild_tensor_v2 without a storage");
            if (!(a[1] instanceof Long offset) || offset < 0) throw corrupt("bad storage offset");
            long[] size = longs(a[2], "size");
            long[] stride = longs(a[3], "stride");
            if (size.length != stride.length) throw corrupt("size and stride differ in length");
            if (size.length > 64) throw corrupt("tensor of " + size.length + " dimensions");
            long numel = 1, maxIndex = offset;
            try {
                for (int i = 0; i < size.length; i++) {
                    if (size[i] < 0 || stride[i] < 0) throw corrupt("negative size or stride");
                    numel = Math.multiplyExact(numel, size[i]);
                }
                if (numel > 0)
                    for (int i = 0; i < size.length; i++) maxIndex = Math.addExact(maxIndex, Math.multiplyExact(size[i] - 1, stride[i]));
            } catch (ArithmeticException e) {
                throw corrupt("tensor of size " + Arrays.toString(size) + " and stride " + Arrays.toString(stride) + " is too large");
            }
            if (numel > 0 && maxIndex >= s.numel)
                throw corrupt("tensor of size " + Arrays.toString(size) + " runs past its storage of " + s.numel);
            // a strided view (stride 0 broadcasts) is copied out: no larger than the storage it views, times 16
            if (numel > Math.max(s.numel, 1) * 16L)
                throw corrupt("tensor of size " + Arrays.toString(size) + " is a view " + numel / Math.max(s.numel, 1)
                        + " times larger than its storage");
            MemorySegment data = storageBytes(s);
            int eb = s.dtype.bytes();
            boolean contiguous = true;
            long expect = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                if (size[i] != 1 && stride[i] != expect) contiguous = false;
                expect *= size[i];
            }
            if (contiguous) return Tensor.of(s.dtype, size, data.asSlice(offset * eb, numel * eb));
            Tensor out = Tensor.zeros(s.dtype, size);
            long[] idx = new long[size.length];
            for (long i = 0; i < numel; i++) {
                long src = offset;
                for (int d = 0; d < size.length; d++) src += idx[d] * stride[d];
                MemorySegment.copy(data, src * eb, out.data(), i * eb, eb);
                for (int d = size.length - 1; d >= 0; d--) { if (++idx[d] < size[d]) break; idx[d] = 0; }
            }
            return out;
        }

        private long[] longs(Object o, String what) {
            if (!(o instanceof Tuple t)) throw corrupt(what + " is not a tuple");
            long[] v = new long[t.items.length];
            for (int i = 0; i < v.length; i++) {
                if (!(t.items[i] instanceof Long l)) throw corrupt(what + " holds a non-integer");
                v[i] = l;
            }
            return v;
        }
    }

    // ------------------------------------------------------------------ writing

    /**
     * Writes a dict of tensors as {@code torch.save} (zip format, pickle protocol 2) does, so that
     * {@code torch.load} in Python reads it back: {@code <name>/data.pkl}, one storage file per tensor
     * under {@code <name>/data/}, {@code <name>/version}. Entries are stored uncompressed. Atomic.
     */
    public static void writeTensors(Path file, Map<String, Tensor> tensors) {
        String archive = file.getFileName().toString().replaceFirst("\\.[^.]*$", "").replaceAll("[^A-Za-z0-9_.-]", "_");
        if (archive.isEmpty()) archive = "archive";
        java.io.ByteArrayOutputStream pkl = new java.io.ByteArrayOutputStream();
        pkl.write(0x80); pkl.write(2);                    // PROTO 2
        pkl.write('}');                                    // EMPTY_DICT
        pkl.write('(');                                    // MARK
        int key = 0;
        List<Tensor> storages = new ArrayList<>();
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            String storage = null;
            for (var s : STORAGES.entrySet()) if (s.getValue() == t.dtype()) storage = s.getKey();
            if (storage == null) throw new IllegalArgumentException("no torch storage type for " + t.dtype());
            unicode(pkl, e.getKey());
            global(pkl, "torch._utils", "_rebuild_tensor_v2");
            pkl.write('(');                                // MARK: arguments
            pkl.write('(');                                // MARK: persistent id
            unicode(pkl, "storage");
            global(pkl, "torch", storage);
            unicode(pkl, String.valueOf(key));
            unicode(pkl, "cpu");
            integer(pkl, t.numel());
            pkl.write('t');                                // TUPLE
            pkl.write('Q');                                // BINPERSID
            integer(pkl, 0);                               // storage offset
            long[] shape = t.shape();
            long[] stride = new long[shape.length];
            long acc = 1;
            for (int d = shape.length - 1; d >= 0; d--) { stride[d] = acc; acc *= shape[d]; }
            longTuple(pkl, shape);
            longTuple(pkl, stride);
            pkl.write(0x89);                               // NEWFALSE: requires_grad
            global(pkl, "collections", "OrderedDict");
            pkl.write(')');                                // EMPTY_TUPLE
            pkl.write('R');                                // REDUCE: OrderedDict()
            pkl.write('t');                                // TUPLE: the arguments
            pkl.write('R');                                // REDUCE: _rebuild_tensor_v2(...)
            storages.add(t);
            key++;
        }
        pkl.write('u');                                    // SETITEMS
        pkl.write('.');                                    // STOP
        String prefix = archive + "/";
        org.lori4j.io.AtomicFiles.write(file, out -> {
            try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(out)) {
                stored(z, prefix + "data.pkl", pkl.toByteArray());
                for (int i = 0; i < storages.size(); i++) {
                    Tensor t = storages.get(i);
                    stored(z, prefix + "data/" + i, t.data().toArray(ValueLayout.JAVA_BYTE));
                }
                stored(z, prefix + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
            }
        });
    }

    private static void stored(java.util.zip.ZipOutputStream z, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(data);
        z.closeEntry();
    }

    private static void unicode(java.io.ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.write('X');
        for (int i = 0; i < 4; i++) o.write((b.length >>> (8 * i)) & 0xff);
        o.writeBytes(b);
    }

    private static void global(java.io.ByteArrayOutputStream o, String module, String name) {
        o.write('c');
        o.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    private static void integer(java.io.ByteArrayOutputStream o, long v) {
        if (v >= 0 && v < 256) { o.write('K'); o.write((int) v); }
        else if (v >= 0 && v < 65536) { o.write('M'); o.write((int) (v & 0xff)); o.write((int) (v >>> 8)); }
        else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            o.write('J');
            for (int i = 0; i < 4; i++) o.write((int) (v >>> (8 * i)) & 0xff);
        } else {
            o.write(0x8a); o.write(8);                    // LONG1, 8 bytes little-endian two's complement
            for (int i = 0; i < 8; i++) o.write((int) (v >>> (8 * i)) & 0xff);
        }
    }

    private static void longTuple(java.io.ByteArrayOutputStream o, long[] v) {
        o.write('(');
        for (long x : v) integer(o, x);
        o.write('t');
    }
}
