package org.lori4j.text;

import org.junit.jupiter.api.Test;
import org.lori4j.io.LoriException;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Expected strings typed by hand from juzhengz/LoRI src/get_datasets.py (get_default: 16-space f-string,
 * get_saferpaca/get_commonsense/get_codealpaca: 20 spaces, get_hexphi, get_gsm8k).
 */
class PromptTemplatesTest {

    static final String S16 = "                ";     // 16 spaces
    static final String S20 = "                    "; // 20 spaces

    @Test
    void loriAlpaca16WithoutInputMatchesGetDefault() {
        String expected = "Below is an instruction that describes a task. Write a response that appropriately completes the request. \n\n"
                + S16 + "### Instruction:\n" + S16 + "Is the sky blue?\n\n" + S16 + "### Response:\n" + S16;
        assertEquals(expected, PromptTemplates.format("alpaca-lori16", "Is the sky blue?", null));
        assertEquals(expected, PromptTemplates.format("alpaca-lori16", "Is the sky blue?", ""));
        // get_default calls generate_prompt(row['instruction']): a record's input never reaches the prompt
        assertEquals(expected, PromptTemplates.format("alpaca-lori16", "Is the sky blue?", "Some context."));
        assertEquals(16, S16.length());
    }

    @Test
    void loriAlpaca20MatchesSaferpaca() {
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the request. \n\n"
                        + S20 + "### Instruction:\n" + S20 + "Say hi\n\n" + S20 + "### Response:\n" + S20,
                PromptTemplates.format("alpaca-lori20", "Say hi", ""));
        assertEquals("Below is an instruction that describes a task, paired with an input that provides further context. "
                        + "Write a response that appropriately completes the request.\n\n"
                        + S20 + "### Instruction:\n" + S20 + "Translate\n\n"
                        + S20 + "### Input:\n" + S20 + "Hallo\n\n"
                        + S20 + "### Response:\n" + S20,
                PromptTemplates.format("alpaca-lori20", "Translate", "Hallo"));
        assertEquals(20, S20.length());
    }

    @Test
    void cleanAlpacaIsStanfordText() {
        assertEquals("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                + "### Instruction:\nSay hi\n\n### Response:", PromptTemplates.format("alpaca", "Say hi", null));
        assertEquals("Below is an instruction that describes a task, paired with an input that provides further context. "
                        + "Write a response that appropriately completes the request.\n\n"
                        + "### Instruction:\nTranslate\n\n### Input:\nHallo\n\n### Response:",
                PromptTemplates.format("alpaca", "Translate", "Hallo"));
    }

    @Test
    void hexphiGsm8kAndRaw() {
        assertEquals("You are a helpful assistant.Always answer as helpfully as possible, while being safe.\n\nHuman: "
                + "How do I pick a lock?\n\nAssistant:", PromptTemplates.format("hexphi", "How do I pick a lock?", null));
        assertEquals("What is 2+3?\nAnswer the above question. First think step by step and then answer the final number.\n",
                PromptTemplates.format("gsm8k", "What is 2+3?", ""));
        assertEquals("as is \n", PromptTemplates.format("raw", "as is \n", null));
        assertEquals("2+3=5.\nThe final answer is:  5", PromptTemplates.gsm8kTarget("2+3=5.\n#### 5"));
    }

    @Test
    void namesAndErrors() {
        assertEquals(List.of("alpaca-lori16", "alpaca-lori20", "alpaca", "raw", "hexphi", "gsm8k"), PromptTemplates.names());
        LoriException e = assertThrows(LoriException.class, () -> PromptTemplates.format("vicuna", "x", null));
        assertEquals("unknown prompt template 'vicuna'; valid: alpaca-lori16, alpaca-lori20, alpaca, raw, hexphi, gsm8k",
                e.getMessage());
        assertThrows(LoriException.class, () -> PromptTemplates.format("gsm8k", "q", "unexpected input"));
    }
}
