"""Themes people mostly pursue at home: cooking, money, reading, music, code, games."""

# The tables below are data: one word list per line reads better than wrapped strings.
# ruff: noqa: E501

from __future__ import annotations

from interestlens.data.synthetic.vocab.model import make_kind, make_theme

# fmt: off
COOKING = make_theme(
    "Cooking",
    audiences="home cooks|keen bakers|food lovers|busy parents|aspiring chefs",
    personas="home cook|keen baker|amateur chef|sourdough enthusiast|weekend baker|curry fanatic",
    topics="cooking|baking|sourdough|Italian food|slow cooking|street food recipes",
    activities="trying new recipes|baking bread on Sundays|cooking for friends|perfecting a curry",
    kinds=[
        make_kind("Kitchenware", brands="Copperpot|Hearth & Co|Saltbox|Ember Kitchen|Oakleaf|Larder",
              suffixes="| Classic| Pro| Signature| Heritage", qualities="heavy-duty|sturdy|well-made|professional-grade|classic",
              uses="for everyday home cooking|for weeknight family dinners|for keen home cooks|for cooking for a crowd|for a small kitchen",
              details="Built for years of daily cooking.|Makes weeknight dinners a little quicker.|Comes with a ten-year guarantee.|Easy to clean after a busy evening.",
              products=[
                  ("chef's knife", "Chef's Knife", "with a full-tang blade|with a riveted wooden handle|with a razor-sharp edge", (30, 150)),
                  ("cast-iron skillet", "Skillet", "with a pre-seasoned surface|with a pouring lip|with an assist handle", (25, 90)),
                  ("enamel Dutch oven", "Dutch Oven", "with a tight-fitting lid|with a generous capacity|with a chip-resistant enamel", (60, 250)),
                  ("saucepan set", "Saucepan Set", "with glass lids|with stay-cool handles|with a non-stick coating", (50, 200)),
                  ("stand mixer", "Stand Mixer", "with a dough hook and whisk|with five speed settings|with a five-litre bowl", (150, 450)),
                  ("pizza stone", "Pizza Stone", "with a wooden peel|with a ridged base that gives a crisp crust|with a heat rating of 300 degrees", (20, 50)),
              ], price=(15, 320)),
        make_kind("Books", brands="Simple|Slow|Weeknight|Kitchen Table|Salt & Smoke|Everyday",
              suffixes="|: 100 Recipes| Cookbook|: A Home Cook's Guide", qualities="beautifully photographed|practical|well-tested|inspiring",
              uses="for home cooks short on time|for confident bakers|for cooking with friends|for learning kitchen basics",
              details="Every recipe was tested in an ordinary home kitchen.|Most dishes take under thirty minutes.|Ingredients are easy to find in any supermarket.|Includes a chapter on feeding a crowd.",
              products=[
                  ("cookbook", "Suppers", "with seasonal menus|with vegetarian options|with a chapter on one-pot meals"),
                  ("baking book", "Bakes", "with step-by-step photos|with a sourdough starter guide|with cakes, breads and pastries"),
                  ("recipe collection", "Curries", "with a guide to spices|with mild and fiery versions of each dish|with homemade naan and chutneys"),
                  ("kitchen guide", "Pasta", "with fresh pasta shapes by hand|with seasonal sauces|with tips on knife skills"),
              ], price=(12, 35)),
    ],
)

FINANCE = make_theme(
    "Personal finance",
    audiences="first-time investors|savers|young professionals|budget-conscious families|future retirees",
    personas="budgeting nerd|index fund investor|aspiring early retiree|spreadsheet fan|frugal saver",
    topics="personal finance|investing|budgeting|saving for retirement|paying off debt",
    activities="tracking every penny|rebalancing a portfolio|planning for early retirement|building an emergency fund",
    kinds=[
        make_kind("Books", brands="The Simple|The Frugal|The Patient|The Debt-Free|Quiet",
              suffixes="|: Build Wealth Slowly|: A Practical Guide| (Revised Edition)", qualities="plain-spoken|practical|clear|reassuring",
              uses="for first-time investors|for getting out of debt|for planning an early retirement|for couples managing money together",
              details="Explains compound interest without the jargon.|Walks through a real household budget.|Covers pensions, savings accounts and index funds.|No get-rich-quick promises, just sound money habits.",
              products=[
                  ("personal finance guide", "Money", "with worked examples|with a chapter on emergency funds|with real-life case studies"),
                  ("investing handbook", "Investor", "with a plain guide to index funds|with charts of long-term returns|with advice on fees and diversification"),
                  ("budgeting workbook", "Budget", "with monthly budget worksheets|with savings challenges|with a checklist per chapter"),
                  ("retirement planning book", "Retirement", "with pension calculators|with a guide to withdrawal rates|with advice on saving in your forties"),
              ], price=(9, 30)),
        make_kind("Courses", brands="MoneyWise|Ledger|Nest Egg|Clearpath|Pennywise",
              suffixes="| Annual| Premium| Starter| Plus", qualities="self-paced|beginner-friendly|ad-free|structured",
              uses="for building an emergency fund|for understanding index funds|for tracking monthly spending|for planning a pension",
              details="Includes monthly budget templates.|Takes about twenty minutes a week.|Helps you pay off debt faster.|Cancel at any time.",
              products=[
                  ("online budgeting course", "Budget Bootcamp", "with weekly video lessons|with a budget template to copy|with a private forum"),
                  ("investing course", "Investing Course", "with a portfolio calculator|with lessons on risk and diversification|with quizzes after each module"),
                  ("budgeting app subscription", "Budget Planner", "with automatic spending categories|with bank account syncing|with savings goals", (20, 90)),
                  ("pension planning workshop", "Pension Workshop", "with live Q&A sessions|with a one-to-one review|with a retirement income plan", (50, 180)),
              ], price=(20, 180)),
    ],
)

FANTASY = make_theme(
    "Fantasy books",
    audiences="fantasy readers|fans of epic fantasy|book clubs|young adult readers|lovers of dragons and magic",
    personas="fantasy bookworm|dragon-obsessed reader|book club regular|epic fantasy fan|lifelong Tolkien fan",
    topics="fantasy novels|epic fantasy|dragons|magic systems|sword and sorcery",
    activities="rereading old favourites|waiting for the next book in a series|reading late into the night|growing a to-read pile",
    kinds=[
        make_kind("Books", brands="The Ember|The Shattered|The Silver|The Hollow|The Last|The Winter|The Broken",
              suffixes="| (Book One)| (Book Two)| (Book Three)|: Collector's Edition|", qualities="sweeping|gripping|richly imagined|dark|enchanting",
              uses="for readers who love long quests|for fans of epic worldbuilding|for long winter evenings|for anyone who misses Middle-earth",
              details="The first book in a sprawling trilogy.|Features a hand-drawn map of the realm.|A slow-burn quest with a satisfying ending.|Full of political intrigue and old magic.|Told from three points of view.",
              products=[
                  ("epic fantasy novel", "Crown", "with a cast of unforgettable heroes|with sieges, dragons and betrayals|with a morally grey hero"),
                  ("fantasy novel", "Throne", "with an intricate magic system|with a young mage on the run|with a slow-burning rivalry between two houses"),
                  ("sword-and-sorcery adventure", "Sword", "with a mercenary on one last job|with cursed blades and ancient ruins|with plenty of tavern brawls"),
                  ("dragon fantasy", "Dragon", "with dragon riders at war|with a hatchling and an unlikely bond|with a mountain of stolen gold"),
                  ("fantasy saga", "Kingdom", "with five feuding kingdoms|with a prophecy nobody understands|with a thief who becomes a queen"),
              ], price=(8, 30)),
        make_kind("Audiobooks & editions", brands="The Ashen|The Wandering|The Iron|The Starlit",
              suffixes="|: Special Edition| (Complete Series)|", qualities="atmospheric|beautifully narrated|complete|immersive",
              uses="for long commutes|for fans of high fantasy|for collectors of fantasy series|for listening by the fire",
              details="Perfect for fans of Tolkien and Le Guin.|Narrated by an award-winning voice actor.|Over forty hours of story in one place.|A handsome addition to any fantasy shelf.",
              products=[
                  ("fantasy audiobook", "Prophecy", "with a full-cast narration|with an original score|with over thirty hours of listening"),
                  ("fantasy box set", "Chronicles", "with all three books of the trilogy|with a fold-out map|with a bonus novella"),
                  ("illustrated fantasy edition", "Wizard", "with colour illustrations|with gilded page edges|with new artwork in every chapter"),
              ], price=(12, 60)),
    ],
)

JAZZ = make_theme(
    "Jazz & music",
    audiences="jazz fans|record collectors|saxophone players|music students|vinyl lovers",
    personas="jazz lover|vinyl collector|amateur saxophonist|bebop fan|weekend trumpet player|music nerd",
    topics="jazz|vinyl records|live music|bebop|improvisation",
    activities="digging through record shops|practising scales|going to late-night jazz gigs|learning standards by ear",
    kinds=[
        make_kind("Music", brands="Lantern Quartet|Midnight Trio|Harlem Nights|Cool Street|Bebop Brothers|Velvet Horns",
              suffixes="| (Remastered)| Vol. 1| Vol. 2| (Deluxe Edition)", qualities="smoky|swinging|intimate|soulful",
              uses="for late-night listening|for fans of bebop and hard bop|for a Sunday morning with coffee|for record collectors",
              details="Recorded live at a tiny club in New York.|Remastered from the original tapes.|Features a blistering trumpet solo on side two.|Includes sleeve notes on every track.",
              products=[
                  ("jazz album", "Sessions", "with a walking bass line that never quits|with a legendary saxophone solo|with rare alternate takes"),
                  ("live record", "Live", "with a warm, close-miked sound|with the crowd cheering every solo|with a twelve-minute closing jam"),
                  ("vinyl LP", "Standards", "with heavyweight 180 g vinyl|with the original cover art|with a gatefold sleeve"),
                  ("jazz ballads album", "Ballads", "with brushed drums and muted trumpet|with a piano trio at its best|with a guest vocalist on three tracks"),
              ], price=(15, 60)),
        make_kind("Instruments", brands="Brasswell|Reedman|Harmon & Fifth|Bluebird|Cadence",
              suffixes="| Student| Pro| Vintage| Custom", qualities="warm-toned|responsive|student-friendly|vintage-style",
              uses="for jazz improvisation|for big band rehearsals|for students learning standards|for small-group gigs",
              details="Trusted by session players and students alike.|Checked by hand before dispatch.|Comes with a cleaning cloth.|Made in a small family workshop.",
              products=[
                  ("tenor saxophone", "Tenor Sax", "with a hand-engraved bell|with a dark, mellow sound|with a hard case", (350, 1500)),
                  ("trumpet", "Trumpet", "with a smooth valve action|with a bright, focused tone|with a gig bag", (250, 900)),
                  ("box of saxophone reeds", "Reed Pack", "with a medium-soft cut|with a warm, buzzy tone|with ten reeds in a humidity pack", (12, 35)),
                  ("set of double bass strings", "Bass Strings", "with a punchy pizzicato sound|with a low, easy tension|with gut-like warmth", (40, 160)),
                  ("practice metronome", "Metronome", "with a swing-feel setting|with an extra-loud click|with a built-in tuner", (15, 45)),
              ], price=(10, 900)),
    ],
)
PROGRAMMING = make_theme(
    "Programming",
    audiences="software developers|data scientists|coding beginners|backend engineers|hobbyist programmers",
    personas="software developer|Python programmer|open-source contributor|self-taught coder|backend engineer|Linux tinkerer",
    topics="programming|Python|open source|Rust|machine learning",
    activities="refactoring side projects|writing Python scripts|contributing to open source|debugging at two in the morning",
    kinds=[
        make_kind("Books", brands="Practical|Effective|Fluent|Modern|Pragmatic|Hands-On",
              suffixes=" Handbook| Cookbook| in Depth| for Data Work| Pocket Reference| Patterns", qualities="clear|thorough|hands-on|opinionated|example-packed",
              uses="for developers moving beyond the basics|for self-taught programmers|for writing clean, maintainable code|for backend and data work",
              details="Every chapter ends with coding exercises.|Covers testing, packaging and type hints.|All examples are on GitHub.|Explains async code without hand-waving.|Includes a chapter on performance profiling.",
              products=[
                  ("Python book", "Python", "with runnable code examples|with a chapter on testing|with exercises and solutions"),
                  ("Rust programming guide", "Rust", "with diagrams of ownership and borrowing|with a small web server built step by step|with notes on unsafe code"),
                  ("SQL reference", "SQL", "with query plans explained|with window functions made simple|with practice databases to download"),
                  ("guide to Git", "Git", "with team branching strategies|with recipes for undoing mistakes|with diagrams of the commit graph"),
                  ("TypeScript handbook", "TypeScript", "with typed React examples|with a chapter on generics|with migration tips from JavaScript"),
              ], price=(18, 60)),
        make_kind("Electronics", brands="Keystroke|Bitforge|Codecraft|Terminal",
              suffixes="| 2| Pro| Mini| Plus", qualities="compact|reliable|beginner-friendly|well-built",
              uses="for long coding sessions|for home automation projects|for learning embedded programming|for a tidy developer desk",
              details="Works with Linux, macOS and Windows.|Set up in under ten minutes.|Comes with a two-year warranty.|Loved by the maker community.",
              products=[
                  ("mechanical keyboard", "Mechanical Keyboard", "with hot-swappable tactile switches|with programmable layers|with a detachable USB-C cable", (60, 200)),
                  ("Raspberry Pi starter kit", "Pi Starter Kit", "with a preloaded Linux image|with a case and power supply|with a breadboard and jumper wires", (50, 120)),
                  ("microcontroller dev board", "Dev Board", "with GPIO headers|with built-in Wi-Fi|with MicroPython preinstalled", (8, 30)),
                  ("USB-C docking station", "Dock", "with dual HDMI outputs|with 100 W pass-through charging|with an Ethernet port", (60, 180)),
              ], price=(20, 220)),
    ],
)

BOARD_GAMES = make_theme(
    "Board games",
    audiences="board gamers|families|game night hosts|strategy fans|tabletop groups",
    personas="board game geek|game night host|tabletop strategist|dungeon master|card game collector",
    topics="board games|tabletop role-playing|strategy games|card games|game nights",
    activities="hosting game nights|painting miniatures|learning new rule books|running a weekly campaign",
    kinds=[
        make_kind("Games", brands="Meeple|Dicetower|Castle|Rook & Pawn|Lantern",
              suffixes="| Expansion| Deluxe| Second Edition| Big Box|", qualities="clever|tense|family-friendly|competitive|thinky",
              uses="for two to five players|for game nights with friends|for families with older kids|for fans of heavy strategy",
              details="Plays in about an hour.|Rules are quick to learn.|Works as well with two players as with five.|Highly replayable from the first game.|Includes a solo mode.",
              products=[
                  ("strategy board game", "Kingdoms", "with worker placement|with a modular board|with area control and bluffing"),
                  ("cooperative board game", "Harbour", "with a shared goal and rising danger|with hidden roles|with a campaign of linked scenarios"),
                  ("deck-building game", "Trade Routes", "with over three hundred cards|with quick turns|with beautiful artwork"),
                  ("dungeon crawler", "Dungeon Crawl", "with detailed miniatures|with a branching campaign|with boss monsters that fight back"),
                  ("railway building game", "Railways", "with tense auctions|with shares in rival companies|with a double-sided map"),
              ], price=(15, 120)),
        make_kind("Game accessories", brands="Critical Hit|Natural Twenty|Gamekeeper|Tabletop",
              suffixes="| Metal| Deluxe| Starter|", qualities="premium|colourful|durable|well-made|sturdy",
              uses="for tabletop role-playing|for keeping cards in mint condition|for Friday night campaigns|for a well-organised game shelf",
              details="A must for any role-playing group.|Fits in most game boxes.|Looks great on the table.|Makes a good gift for a dungeon master.",
              products=[
                  ("set of polyhedral dice", "Dice Set", "with a velvet pouch|with sharp, precise edges|with easy-to-read numbers", (6, 40)),
                  ("pack of card sleeves", "Card Sleeves", "with a matte finish|with a clear front|with a hundred sleeves per pack", (5, 15)),
                  ("neoprene game mat", "Game Mat", "with a grid on the reverse|with stitched edges|with a non-slip base", (20, 50)),
                  ("miniatures painting kit", "Miniatures Kit", "with seven paints and two brushes|with a primer|with a step-by-step painting guide", (15, 40)),
              ], price=(6, 70)),
    ],
)
