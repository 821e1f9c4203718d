//! The languages: each one's code, share, script, hashtag and text words, and how draws pick them.

/// A language: its code, share of tweets in per mille, the words its hashtags are made of (a
/// prefix-free set across all languages, letters and marks only), the words of its texts, whether
/// it puts spaces between words, and its sentence endings.
pub(super) struct Language {
    pub(super) code: &'static str,
    pub(super) weight: u32,
    pub(super) tag_words: &'static [&'static str],
    pub(super) text_words: &'static [&'static str],
    pub(super) spaced: bool,
    pub(super) marks: &'static [&'static str],
}

pub(super) const LATIN_MARKS: &[&str] = &["!", ".", "?", "!!", "...", "…"];
pub(super) const CJK_MARKS: &[&str] = &["！", "。", "？", "…"];
pub(super) const ARABIC_MARKS: &[&str] = &["!", "؟", "."];

// Kept packed by hand: rustfmt puts every non-ASCII word on a line of its own.
#[rustfmt::skip]
pub(super) const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        weight: 450,
        tag_words: &[
            "love", "music", "game", "news", "night", "day", "life", "team", "world", "live",
            "photo", "art", "food", "travel", "fashion", "summer", "friday", "weekend", "vibes",
            "goals", "family", "happy", "power", "dream", "crypto", "movie", "book", "fitness",
            "nature", "sports", "tech", "home", "pats", "win", "fans", "style", "coffee", "beauty",
            "health", "party", "gold", "rain", "city", "star", "cat", "dog", "baby", "code",
        ],
        text_words: &[
            "the", "game", "tonight", "is", "so", "good", "I", "love", "this", "new", "we", "are",
            "going", "to", "watch", "today", "what", "a", "great", "day", "can't", "wait", "for",
            "my", "people", "everyone", "happy", "really", "never", "again", "best", "ever",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "ja",
        weight: 150,
        tag_words: &[
            "東京", "ニュース", "アニメ", "拡散希望", "おはよう", "ゲーム", "今日の一枚", "猫", "ライブ", "推し", "地震", "漫画",
            "野球", "誕生日", "お疲れ様", "夏休み", "ラーメン", "新曲", "映画", "相互フォロー",
        ],
        text_words: &[
            "今日", "は", "とても", "楽しい", "です", "ありがとう", "新しい", "ニュース", "明日", "みんな", "本当に", "最高", "もう",
            "やばい", "よろしく", "お願いします", "が", "を", "の",
        ],
        spaced: false,
        marks: CJK_MARKS,
    },
    Language {
        code: "es",
        weight: 100,
        tag_words: &[
            "amor", "fútbol", "vida", "noche", "mañana", "fiesta", "música", "mundo", "gracias",
            "feliz", "partido", "viernes", "playa", "familia", "libre", "fuerza", "sueño",
            "ciudad", "campeón", "orgullo", "españa", "méxico", "argentina", "cine", "comida",
            "golazo", "selección", "lluvia", "verano", "corazón", "alegría", "victoria",
        ],
        text_words: &[
            "el", "la", "de", "que", "hoy", "partido", "mañana", "gracias", "por", "todo", "nuevo",
            "qué", "noticias", "año", "muy", "bien", "vamos", "con", "mi", "gente", "siempre",
            "nunca", "más",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "pt",
        weight: 50,
        tag_words: &[
            "futebol", "saudade", "brasil", "hoje", "jogo", "obrigado", "coração", "praia",
            "festa", "amigos", "domingo", "novela", "sertanejo", "flamengo", "carnaval", "beleza",
            "sonho", "paz", "eleição", "rio", "samba", "gente", "tudo",
        ],
        text_words: &[
            "o", "a", "de", "que", "hoje", "jogo", "obrigado", "notícia", "você", "não", "amanhã",
            "muito", "bom", "gente", "tudo", "mais", "agora", "aqui", "vamos", "é",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "und",
        weight: 50,
        tag_words: &[],
        text_words: &["lol", "jajaja", "kkkk", "555", "xd", "omg", "wkwk", "😂", "🔥", "👀", "😭", "🙏", "✨", "💯"],
        spaced: true,
        marks: &["!!!", "...", "?!"],
    },
    Language {
        code: "ar",
        weight: 40,
        tag_words: &[
            "السعودية", "الهلال", "مصر", "كرة", "رمضان", "الله", "حب", "اليوم", "عاجل", "الرياض",
            "الامارات", "الكويت", "قطر", "دبي", "صباح", "مساء",
        ],
        text_words: &[
            "اليوم", "شكرا", "جديد", "أخبار", "مباراة", "الله", "في", "من", "على", "هذا", "كل",
            "ما", "جدا", "الحمد",
        ],
        spaced: true,
        marks: ARABIC_MARKS,
    },
    Language {
        code: "ko",
        weight: 30,
        tag_words: &[
            "방탄소년단", "오늘", "사랑", "뉴스", "축구", "음악", "서울", "드라마", "생일", "아이돌", "여행", "맛집", "블랙핑크",
            "영화", "일상",
        ],
        text_words: &[
            "오늘", "감사합니다", "뉴스", "새로운", "경기", "정말", "너무", "좋아요", "우리", "모두", "내일", "사랑해", "진짜",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "in",
        weight: 25,
        tag_words: &[
            "indonesia", "merdeka", "sepakbola", "jakarta", "musik", "makan", "kopi", "hujan",
            "libur", "senja", "rindu", "bahagia", "kerja", "sehat", "berita", "malam", "cinta",
            "sahabat", "mudik", "pagi",
        ],
        text_words: &[
            "hari", "ini", "terima", "kasih", "berita", "baru", "yang", "dan", "aku", "kamu",
            "sudah", "belum", "banget", "semua", "lagi",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "th",
        weight: 20,
        tag_words: &[
            "ข่าว", "วันนี้", "ฟุตบอล", "ประเทศไทย", "กินข้าว", "ความรัก", "ดนตรี", "เที่ยว",
            "หนัง", "โควิด", "สงกรานต์", "ทะเล", "แมว", "อาหาร",
        ],
        text_words: &["วันนี้", "ขอบคุณ", "ข่าว", "ใหม่", "สนุก", "มาก", "ครับ", "ค่ะ", "เรา", "ทุกคน", "พรุ่งนี้", "จริงๆ"],
        spaced: false,
        marks: &["!", "...", "555"],
    },
    Language {
        code: "fr",
        weight: 20,
        tag_words: &[
            "bonjour", "merci", "été", "amour", "soirée", "fête", "paris", "cinéma", "liberté",
            "bisous", "rentrée", "vacances", "français", "ligue", "école", "chanson", "soleil",
            "demain", "ensemble", "joie", "planète", "voyage", "bonheur",
        ],
        text_words: &[
            "le", "la", "les", "de", "aujourd'hui", "merci", "très", "été", "nouvelle", "ça",
            "match", "c'est", "pour", "avec", "tout", "demain", "bien", "vraiment", "on", "est",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "tr",
        weight: 15,
        tag_words: &[
            "futbol", "galatasaray", "fenerbahçe", "beşiktaş", "türkiye", "istanbul", "bugün",
            "haber", "maç", "yeni", "güzel", "aşk", "müzik", "dizi", "kahve", "deprem", "sabah",
            "gece", "yaz", "okul", "tatil", "şampiyon", "bayram", "mutlu", "hayat",
        ],
        text_words: &[
            "bugün", "teşekkürler", "haber", "maç", "yeni", "çok", "güzel", "bir", "ve", "bu",
            "için", "ama", "şimdi", "herkes", "iyi",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "ru",
        weight: 15,
        tag_words: &[
            "новости", "россия", "москва", "футбол", "музыка", "любовь", "весна", "лето",
            "праздник", "спорт", "кино", "друзья", "работа", "погода", "победа", "семья",
        ],
        text_words: &[
            "сегодня", "спасибо", "новости", "игра", "новый", "и", "в", "не", "это", "очень",
            "все", "как", "так", "завтра",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "tl",
        weight: 10,
        tag_words: &[
            "mahal", "salamat", "pinoy", "kaibigan", "pamilya", "bayan", "masaya", "ulan", "kain",
            "tulog", "pasko", "lakas", "ganda", "bukas", "trabaho", "sana",
        ],
        text_words: &[
            "ang", "mga", "sa", "ng", "ako", "ikaw", "salamat", "po", "talaga", "ngayon", "bukas",
            "grabe", "sobra", "naman",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "zh",
        weight: 10,
        tag_words: &[
            "中国", "台湾", "新闻", "香港", "电影", "音乐", "北京", "上海", "疫情", "奥运", "美食", "旅游", "蘋果獨家", "科技",
            "足球",
        ],
        text_words: &[
            "今天", "谢谢", "新闻", "比赛", "新的", "我们", "真的", "太", "好", "了", "的", "是", "大家", "明天", "加油",
        ],
        spaced: false,
        marks: CJK_MARKS,
    },
    Language {
        code: "de",
        weight: 10,
        tag_words: &[
            "bundesliga", "heimat", "sommer", "freunde", "urlaub", "wetter", "danke", "berlin",
            "schule", "frühling", "glück", "zukunft", "wahl", "liebe", "kaffee", "spielzeit",
        ],
        text_words: &[
            "heute", "danke", "schön", "Spiel", "für", "und", "der", "die", "das", "ist", "nicht",
            "sehr", "gut", "wieder", "alle",
        ],
        spaced: true,
        marks: LATIN_MARKS,
    },
    Language {
        code: "fa",
        weight: 5,
        // Persian joins some words with a zero-width non-joiner, which hashtags keep.
        tag_words: &[
            "ایران", "تهران", "می\u{200c}خواهم", "آزادی", "فوتبال", "خبر", "عشق", "دانشگاه",
            "نوروز", "سینما", "کتاب\u{200c}ها",
        ],
        text_words: &["امروز", "ممنون", "خیلی", "خوب", "در", "از", "این", "که", "با", "همه", "فردا", "می\u{200c}خوام"],
        spaced: true,
        marks: ARABIC_MARKS,
    },
];

pub(super) const fn total_weight(with_untagged: bool) -> u32 {
    let mut total = 0;
    let mut i = 0;
    while i < LANGUAGES.len() {
        if with_untagged || !LANGUAGES[i].tag_words.is_empty() {
            total += LANGUAGES[i].weight;
        }
        i += 1;
    }
    total
}

/// Per mille of tweets, over all languages.
pub(super) const LANGUAGE_WEIGHT_TOTAL: u32 = total_weight(true);
/// Over the languages with hashtags of their own (all but `und`).
pub(super) const TAG_WEIGHT_TOTAL: u32 = total_weight(false);

pub(super) fn tag_weight(language: &Language) -> u32 {
    if language.tag_words.is_empty() {
        0
    } else {
        language.weight
    }
}

/// The language a draw in `0..LANGUAGE_WEIGHT_TOTAL` falls on.
pub(super) fn pick_language(mut draw: u64) -> usize {
    for (index, language) in LANGUAGES.iter().enumerate() {
        if draw < language.weight as u64 {
            return index;
        }
        draw -= language.weight as u64;
    }
    0
}

/// The language with hashtags a draw in `0..TAG_WEIGHT_TOTAL` falls on.
pub(super) fn pick_tag_language(mut draw: u64) -> usize {
    for (index, language) in LANGUAGES.iter().enumerate() {
        let weight = tag_weight(language) as u64;
        if draw < weight {
            return index;
        }
        draw -= weight;
    }
    0
}
