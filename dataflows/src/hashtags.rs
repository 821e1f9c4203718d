//! Hashtag extraction by Twitter's rules (twitter-text's `extractHashtags`), lowercased.
//!
//! A hashtag is `#` or the fullwidth `＃`, then a run of letters, combining marks, digits and `_`
//! in any script — plus the joiners and punctuation twitter-text admits inside tags, such as the
//! zero-width non-joiner of Persian and the middle dots of Japanese — with at least one letter or
//! mark (`#2021` is no hashtag). The sign must not follow a letter, mark, digit, `_` or `&` (so
//! `a#b` and the entity `&#39;` are not tags; emoji variation selectors are the exception), and a tag directly followed by another `#` or by
//! `://` is dropped, as are tags inside URLs (`https://example.com/#anchor`).

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::symbol::Symbol;

/// The hashtags of `text` in order of appearance, lowercased with Unicode rules; a tag used twice
/// appears twice.
///
/// ```
/// use trendflow_dataflows::hashtags::extract_hashtags;
/// assert_eq!(extract_hashtags("Go #Patriots! #NEvsNYG #2021 a#b ＃東京"), ["patriots", "nevsnyg", "東京"]);
/// ```
pub fn extract_hashtags(text: &str) -> Vec<String> {
    let mut hashtags = Vec::new();
    let mut previous: Option<char> = None;
    let mut url_end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if at >= url_end && starts_url(&text[at..]) && previous.is_none_or(|p| !is_tag_char(p)) {
            url_end = at + text[at..].find(char::is_whitespace).unwrap_or(text.len() - at);
        }
        let is_sign = c == '#' || c == '＃';
        if is_sign && at >= url_end && previous.is_none_or(may_precede_tag) {
            let start = at + c.len_utf8();
            let end = start + text[start..].find(|c: char| !is_tag_char(c)).unwrap_or(text.len() - start);
            let tag = &text[start..end];
            let rest = &text[end..];
            let emoji_sign = tag.starts_with(['\u{fe0f}', '\u{20e3}']);
            let followed_badly = rest.starts_with(['#', '＃']) || rest.starts_with("://");
            if !emoji_sign && !followed_badly && tag.chars().any(is_letter_or_mark) {
                hashtags.push(tag.to_lowercase());
            }
            // Skip the tag's own characters: none of them can start another tag.
            while chars.peek().is_some_and(|(next, _)| *next < end) {
                previous = chars.next().map(|(_, c)| c);
            }
            if end > start {
                continue;
            }
        }
        previous = Some(c);
    }
    hashtags
}

/// The hashtags of `text`, as [`extract_hashtags`] finds them, interned as the graph keeps them.
pub fn hashtag_symbols(text: &str) -> Vec<Symbol> {
    extract_hashtags(text).iter().map(|hashtag| Symbol::new(hashtag)).collect()
}

/// Whether a hashtag may follow this character. Emoji variation selectors are marks, but
/// twitter-text lets a tag follow them, as in `❤️#tag`.
fn may_precede_tag(c: char) -> bool {
    matches!(c, '\u{fe0e}' | '\u{fe0f}') || (!is_tag_char(c) && c != '&')
}

/// Whether a URL starts here; its hashtag-looking fragments are not hashtags.
fn starts_url(text: &str) -> bool {
    let scheme = |prefix: &str| text.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix));
    scheme("http://") || scheme("https://") || scheme("www.")
}

fn is_letter_or_mark(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    matches!(c.general_category_group(), GeneralCategoryGroup::Letter | GeneralCategoryGroup::Mark)
}

/// The characters a hashtag is made of, as twitter-text defines them.
fn is_tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    is_letter_or_mark(c)
        || c.general_category() == unicode_properties::GeneralCategory::DecimalNumber
        || matches!(
            c,
            // Joiners (Persian, Indic), Hebrew punctuation, Japanese marks and dots, and the
            // other in-word characters twitter-text's hashtag pattern lists.
            '\u{200c}'
                | '\u{200d}'
                | '\u{a67e}'
                | '\u{05be}'
                | '\u{05f3}'
                | '\u{05f4}'
                | '\u{ff5e}'
                | '\u{301c}'
                | '\u{309b}'
                | '\u{309c}'
                | '\u{30a0}'
                | '\u{30fb}'
                | '\u{3003}'
                | '\u{0f0b}'
                | '\u{0f0c}'
                | '\u{00b7}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(text: &str) -> Vec<String> {
        extract_hashtags(text)
    }

    #[test]
    fn latin_tags_are_lowercased_and_keep_accents() {
        assert_eq!(tags("Played #IrishGauge today #bggplay"), ["irishgauge", "bggplay"]);
        assert_eq!(
            tags("#FCJuárez #CineEnEspañol #ÚsaloConResponsabilidad"),
            ["fcjuárez", "cineenespañol", "úsaloconresponsabilidad"]
        );
    }

    #[test]
    fn tags_in_every_script_with_their_marks() {
        assert_eq!(tags("#まいふみメモ #蘋果獨家 #한국"), ["まいふみメモ", "蘋果獨家", "한국"]);
        assert_eq!(tags("#السعودية #Россия"), ["السعودية", "россия"]);
        assert_eq!(tags("#กินข้าว ok"), ["กินข้าว"]);
        assert_eq!(tags("#می\u{200c}خواهم"), ["می\u{200c}خواهم"]);
        assert_eq!(tags("e\u{301} #cafe\u{301}"), ["cafe\u{301}"]);
    }

    #[test]
    fn a_fullwidth_sign_starts_a_tag() {
        assert_eq!(tags("＃東京 and #東京"), ["東京", "東京"]);
    }

    #[test]
    fn all_digit_tags_are_not_tags_but_digits_inside_are() {
        assert_eq!(tags("#2021 #1 #100daysofcode #yks2021tercih #_"), ["100daysofcode", "yks2021tercih"]);
    }

    #[test]
    fn a_sign_after_a_word_character_or_ampersand_starts_nothing() {
        assert_eq!(tags("a#b c_#d 1#e &#39; it&#39;s"), Vec::<String>::new());
        assert_eq!(tags("(#ok) \"#quoted\" ¿#pregunta?"), ["ok", "quoted", "pregunta"]);
        assert_eq!(tags("perfecto❤\u{fe0f}#EN_LOG"), ["en_log"]);
    }

    #[test]
    fn a_tag_followed_by_a_sign_or_scheme_is_dropped() {
        assert_eq!(tags("#tag#tag2"), Vec::<String>::new());
        assert_eq!(tags("#http://example.com"), Vec::<String>::new());
        assert_eq!(tags("#one #two"), ["one", "two"]);
    }

    #[test]
    fn fragments_of_urls_are_not_tags() {
        assert_eq!(tags("see http://x.com/#anchor and https://t.co/a#b #real"), ["real"]);
        assert_eq!(tags("www.example.com/#frag"), Vec::<String>::new());
    }

    #[test]
    fn keycap_and_emoji_signs_are_not_tags() {
        assert_eq!(tags("#\u{fe0f}\u{20e3} #\u{20e3}x"), Vec::<String>::new());
    }

    #[test]
    fn repeated_tags_are_kept_as_a_multiset() {
        assert_eq!(tags("#Ida #ida #IDA"), ["ida", "ida", "ida"]);
    }
}
