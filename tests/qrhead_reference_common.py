"""What the two restatements of the QRHead reference share (tests/qrhead_numpy_reference.py,
tests/hf_qrhead_reference.py): its prompt strings and span search (QRHead
src/qrretriever/attn_retriever.py: get_prompt, compose_scoring_prompt, get_content_span), the
null-query calibration, and nDCG@10 as trec_eval's ndcg_cut computes it for BEIR's evaluator."""
import math

NULL_QUERY = "N/A"
LATE = "Please find information that are relevant to the following query in the paragraphs above."


class Prompter:
    """family: "llama" or another (Qwen's strings); encode(prompt) -> (ids, offset_mapping) with the
    tokenizer's default special tokens, as tokenizer(prompt, return_offsets_mapping=True)."""

    def __init__(self, family, encode):
        self.encode = encode
        if family == "llama":
            self.prefix, self.sep = "<|start_header_id|>user<|end_header_id|>", " \n\n"
            self.suffix = "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"
        else:
            self.prefix, self.sep, self.suffix = "<|im_start|>user", "\n\n", "<|im_end|>\n<|im_start|>assistant"

    @staticmethod
    def doc_text(i, doc):
        text = doc["paragraph_text"]
        if doc.get("title", None) is not None:
            text = doc["title"] + "\n" + text
        return f"[{i + 1}] {text}"

    def compose(self, query, docs):
        """The prompt's ids, the query span and each document's span (inclusive token ranges)."""
        prompt = self.prefix + " Here are some paragraphs:"
        for i, d in enumerate(docs):
            prompt += self.sep + self.doc_text(i, d)
        query_content = LATE + self.sep + "Query:" + f" {query}" + self.suffix
        prompt += self.sep + query_content
        ids, offsets = self.encode(prompt)
        char_to_tok = {}
        for i, (s, e) in enumerate(offsets):
            for j in range(s, e):
                char_to_tok[j] = i

        def span(content):
            a = prompt.index(content)
            return char_to_tok[a], char_to_tok[a + len(content) - 1]
        return ids, span(query_content), [span(self.doc_text(i, d)) for i, d in enumerate(docs)]

    def calibrated(self, row_mean, query, docs):
        """row_mean(ids, first) -> (L, H, N) mean attention of rows first.. over the keys; returns
        the query's minus the null query's over their common keys, the query span, the doc spans."""
        ids, qspan, dspans = self.compose(query, docs)
        nids, nqspan, _ = self.compose(NULL_QUERY, docs)
        assert nids[:qspan[0]] == ids[:qspan[0]] and nqspan[0] == qspan[0]
        a, a0 = row_mean(ids, qspan[0]), row_mean(nids, nqspan[0])
        n = min(a.shape[-1], a0.shape[-1])
        return a[:, :, :n] - a0[:, :, :n], qspan, dspans


def ndcg10(qrels, qid, run):
    """trec_eval's ndcg_cut.10 as BEIR calls it: gains = relevance, ties by document id descending,
    the query's own id dropped; None for a query without a relevant judgment."""
    rels = sorted((r for r in qrels.get(qid, {}).values() if r > 0), reverse=True)
    if not rels:
        return None
    ideal = sum(r / math.log2(i + 2) for i, r in enumerate(rels[:10]))
    ranked = sorted(((d, s) for d, s in run.items() if d != qid), key=lambda t: t[0], reverse=True)
    ranked.sort(key=lambda t: t[1], reverse=True)
    return sum(qrels[qid].get(d, 0) / math.log2(i + 2) for i, (d, _) in enumerate(ranked[:10])) / ideal
