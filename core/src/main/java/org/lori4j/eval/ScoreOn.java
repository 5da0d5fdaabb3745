package org.lori4j.eval;

/**
 * Which text the answer rules read. The reference decodes the whole generated sequence, so its rules see
 * the prompt followed by the output; for HEx-PHI that matters (a keyword in the prompt makes the answer
 * "safe", and the prompt alone has more than 10 letters). {@link #OUTPUT} scores only what the model wrote.
 */
public enum ScoreOn {
    /** The prompt followed by the output, as the reference's decoded sequences (HEx-PHI, GSM8K, commonsense). */
    REFERENCE,
    /** The output alone. */
    OUTPUT;

    /** The text a rule reads for this setting. */
    public String text(String prompt, String output) { return this == REFERENCE ? prompt + output : output; }

    /** The name used on the command line and in results.json. */
    public String label() { return this == REFERENCE ? "reference" : "output"; }

    public static ScoreOn parse(String s) {
        return switch (s) {
            case "reference", "prompt+output" -> REFERENCE;
            case "output" -> OUTPUT;
            default -> throw new org.lori4j.io.LoriException("--score-on: unknown value '" + s + "' (reference, output)");
        };
    }
}
