/**
 * English words that are each exactly one cl100k_base token when preceded by a space (checked in
 * test/simulate/workload.test.ts and test/bench/workload.test.ts). cl100k's pre-tokenizer splits text at every ` ?\p{L}+` run, so tokens never merge
 * across words: a string of N such words is N tokens, which is how generated prompts hit a token count exactly.
 */
export const ONE_TOKEN_WORDS: readonly string[] = Object.freeze(
  (
    "the of and to in is that for it as with was on be by at this from or an are not have but had his they " +
    "which one you were her all she there would their we him been has when who will more no if out so said " +
    "what up its about into than them can only other new some could time these two may then do first any my " +
    "now such like our over man me even most made after also did many before must through back years where " +
    "much your way well down should because each just those people how too little state good very make world " +
    "still own see men work long get here between both life being under never day same another know while " +
    "last might us great old year off come since against go came right used take three states himself few " +
    "house use during without again place around however home small found thought went say part once " +
    "general high upon school every does got united left number course until always away something fact " +
    "though water less public put think almost hand enough far took head yet government system better set " +
    "told nothing night end why called eyes find going look asked later knew point next program city " +
    "business give group toward young days let room president side social given present several order " +
    "national possible rather second face per among form important often things looked early white case " +
    "become large big need four within felt along children saw best ever least power development light " +
    "model server request token cache queue latency batch memory engine data value field table query index " +
    "stream client network signal policy budget market price report review design video music image story"
  ).split(" "),
);
