package org.lori4j.train;

/**
 * The Mersenne Twister MT19937 exactly as CPython's {@code random} module and numpy's legacy global RNG use it,
 * so that LoRI's data order can be replayed bit for bit: numpy's {@code seed(s)} (init_genrand), CPython's
 * {@code random.seed(s)} for an integer s (init_by_array of its 32-bit words), {@code getrandbits(k <= 32)},
 * CPython's {@code _randbelow} (rejection on k = n.bit_length() bits) and {@code random.shuffle}.
 * numpy's {@code randint(0, 2**32)} returns one raw 32-bit output per value, i.e. {@link #nextUint32()}.
 */
public final class PythonRandom {
    private static final int N = 624, M = 397;
    private static final int MATRIX_A = 0x9908b0df, UPPER = 0x80000000, LOWER = 0x7fffffff;

    private final int[] mt = new int[N];
    private int mti;

    private PythonRandom() {}

    /** numpy's {@code np.random.seed(seed)} for 0 <= seed < 2^32: MT's init_genrand. */
    public static PythonRandom numpySeeded(long seed) {
        checkSeed(seed);
        PythonRandom r = new PythonRandom();
        r.initGenrand((int) seed);
        return r;
    }

    /** CPython's {@code random.seed(seed)} for an integer 0 <= seed < 2^32: init_by_array([seed]). */
    public static PythonRandom pythonSeeded(long seed) {
        checkSeed(seed);
        PythonRandom r = new PythonRandom();
        r.initByArray(new int[] {(int) seed});
        return r;
    }

    private static void checkSeed(long seed) {
        if (seed < 0 || seed > 0xFFFFFFFFL) throw new IllegalArgumentException("seed must be in [0, 2^32): " + seed);
    }

    private void initGenrand(int s) {
        mt[0] = s;
        for (int i = 1; i < N; i++) mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
        mti = N;
    }

    private void initByArray(int[] key) {
        initGenrand(19650218);
        int i = 1, j = 0;
        for (int k = Math.max(N, key.length); k > 0; k--) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1664525)) + key[j] + j;
            i++;
            j++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
            if (j >= key.length) j = 0;
        }
        for (int k = N - 1; k > 0; k--) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1566083941)) - i;
            i++;
            if (i >= N) { mt[0] = mt[N - 1]; i = 1; }
        }
        mt[0] = 0x80000000;
        mti = N;
    }

    /** The next raw 32-bit output, as an unsigned value in a long. */
    public long nextUint32() {
        if (mti >= N) {
            for (int kk = 0; kk < N; kk++) {
                int y = (mt[kk] & UPPER) | (mt[(kk + 1) % N] & LOWER);
                mt[kk] = mt[(kk + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
            }
            mti = 0;
        }
        int y = mt[mti++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9d2c5680;
        y ^= (y << 15) & 0xefc60000;
        y ^= y >>> 18;
        return y & 0xFFFFFFFFL;
    }

    /** CPython's {@code getrandbits(k)} for 1 <= k <= 32. */
    public long getrandbits(int k) {
        if (k < 1 || k > 32) throw new IllegalArgumentException("k must be in [1, 32]: " + k);
        return nextUint32() >>> (32 - k);
    }

    /** CPython's {@code _randbelow(n)}: uniform in [0, n) by rejection on n.bit_length() bits. */
    public int randbelow(int n) {
        if (n <= 0) throw new IllegalArgumentException("n must be positive: " + n);
        int k = 32 - Integer.numberOfLeadingZeros(n);
        long r = getrandbits(k);
        while (r >= n) r = getrandbits(k);
        return (int) r;
    }

    /** CPython's {@code random.shuffle(x)} in place (Fisher-Yates from the end). */
    public void shuffle(int[] x) {
        for (int i = x.length - 1; i >= 1; i--) {
            int j = randbelow(i + 1);
            int tmp = x[i];
            x[i] = x[j];
            x[j] = tmp;
        }
    }
}
