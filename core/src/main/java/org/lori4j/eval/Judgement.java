package org.lori4j.eval;

/**
 * How one model output was scored.
 *
 * @param extracted what the rule took from the output (answer word, number, refusal keyword, completion)
 * @param correct   counts as correct (safe, for HEx-PHI; passed, for HumanEval)
 * @param note      why, when useful ("no refusal keyword", the exception of a failed program), else ""
 */
public record Judgement(String extracted, boolean correct, String note) {}
