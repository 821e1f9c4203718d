//! Writing a tweet's text: handles, numbers, decorations, and hashtags in their styles.

/// How a hashtag is capitalised in the text; extraction lowercases all of them alike.
#[derive(Clone, Copy)]
pub(super) enum Style {
    Lower,
    Camel,
    Upper,
}

pub(super) fn push_styled(out: &mut String, word: &str, style: Style) {
    match style {
        Style::Lower => out.push_str(word),
        Style::Camel if word.as_bytes().first().is_some_and(u8::is_ascii) => {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        }
        Style::Camel => {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
        Style::Upper => out.extend(word.chars().flat_map(char::to_uppercase)),
    }
}

/// Writes user `user`'s screen name: a first name then the user number divided by the names'
/// count, so distinct users have distinct handles.
pub(super) fn push_handle(out: &mut String, user: u64) {
    let names = HANDLE_NAMES.len() as u64;
    out.push_str(HANDLE_NAMES[(user % names) as usize]);
    let number = user / names;
    if number > 0 {
        if number % 3 == 0 {
            out.push('_');
        }
        push_decimal(out, number);
    }
}

pub(super) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &digit in &digits[at..] {
        out.push(digit as char);
    }
}

pub(super) const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub(super) const HANDLE_NAMES: &[&str] = &[
    "maria", "kenji", "ana", "li", "omar", "sofia", "yuki", "lucas", "fatima", "ivan", "emma", "diego", "aisha",
    "minho", "somchai", "sara", "jack", "lea", "ali", "mei", "noah", "olga", "rafa", "hana", "tom", "zeynep", "budi",
    "juan", "chloe", "ahmed", "nina", "leo",
];

pub(super) const EMOJI: &[&str] = &["😂", "🔥", "👀", "😭", "❤️", "🙏", "✨", "💯", "🎉", "👏"];
pub(super) const TAG_ENDINGS: &[&str] = &["!", "!!", ",", "…", "?"];
pub(super) const TAG_PREFIXES: &[&str] = &["100", "24", "365", "1"];
pub(super) const TAG_YEARS: &[&str] = &["2021", "2022", "2023", "21"];
pub(super) const TAG_SUFFIXES: &[&str] = &["_tv", "_live", "_fc", "_news", "_official"];
