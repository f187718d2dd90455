"""A few words per theme in Spanish, German and Chinese, for bios not written in English.

Only enough to write a one-line bio ("Me encanta la fotografía.", "我喜欢摄影。"): an
English-trained encoder places such bios poorly, which is the situation they exist to show.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("es", "de", "zh")

#: theme name -> language -> two topics (the second only follows the first)
FOREIGN_TOPICS: dict[str, dict[str, tuple[str, str]]] = {
    "Hiking & outdoors": {
        "es": ("el senderismo", "la montaña"),
        "de": ("Wandern", "Bergtouren"),
        "zh": ("徒步", "露营"),
    },
    "Cooking": {
        "es": ("la cocina", "el pan casero"),
        "de": ("Kochen", "Backen"),
        "zh": ("做饭", "烘焙"),
    },
    "Personal finance": {
        "es": ("las finanzas personales", "la inversión"),
        "de": ("Finanzen", "Geldanlage"),
        "zh": ("理财", "投资"),
    },
    "Fantasy books": {
        "es": ("las novelas de fantasía", "los dragones"),
        "de": ("Fantasy-Romane", "Drachen"),
        "zh": ("奇幻小说", "魔法世界"),
    },
    "Jazz & music": {
        "es": ("el jazz", "los discos de vinilo"),
        "de": ("Jazz", "Schallplatten"),
        "zh": ("爵士乐", "黑胶唱片"),
    },
    "Gardening": {
        "es": ("la jardinería", "el huerto"),
        "de": ("Gärtnern", "Gemüseanbau"),
        "zh": ("园艺", "种菜"),
    },
    "Football": {
        "es": ("el fútbol", "la liga"),
        "de": ("Fußball", "die Bundesliga"),
        "zh": ("足球", "英超"),
    },
    "Photography": {
        "es": ("la fotografía", "las cámaras analógicas"),
        "de": ("Fotografie", "analoge Kameras"),
        "zh": ("摄影", "胶片相机"),
    },
    "Programming": {
        "es": ("la programación", "el software libre"),
        "de": ("Programmieren", "Open Source"),
        "zh": ("编程", "开源软件"),
    },
    "Travel": {
        "es": ("viajar", "los viajes en tren"),
        "de": ("Reisen", "Städtereisen"),
        "zh": ("旅行", "背包旅行"),
    },
    "Board games": {
        "es": ("los juegos de mesa", "los juegos de estrategia"),
        "de": ("Brettspiele", "Strategiespiele"),
        "zh": ("桌游", "策略游戏"),
    },
    "Pets": {"es": ("los perros", "los gatos"), "de": ("Hunde", "Katzen"), "zh": ("养狗", "猫咪")},
}

#: language -> one-line bio templates over ``{topic}`` and ``{topic2}``
FOREIGN_BIO_TEMPLATES: dict[str, tuple[str, ...]] = {
    "es": ("Me encanta {topic}.", "Me apasiona {topic}, sobre todo {topic2}."),
    "de": ("Ich liebe {topic}.", "Meine Leidenschaft: {topic} und {topic2}."),
    "zh": ("我喜欢{topic}。", "热爱{topic}，尤其是{topic2}。"),
}
