"""Themes people mostly pursue out of the house: hills, gardens, pitches, cameras, trips, pets."""

# The tables below are data: one word list per line reads better than wrapped strings.
# ruff: noqa: E501

from __future__ import annotations

from interestlens.data.synthetic.vocab.model import make_kind, make_theme

# fmt: off
HIKING = make_theme(
    "Hiking & outdoors",
    audiences="hillwalkers|backpackers|day hikers|wild campers|trail runners",
    personas="weekend hiker|keen hillwalker|wild camper|trail runner|fell walker|long-distance walker",
    topics="hiking|the outdoors|wild camping|mountain walks|long-distance trails",
    activities="planning the next long walk|out on the hills|mapping routes for the weekend|chasing summits",
    kinds=[
        make_kind("Outdoor gear", brands="Ridgeline|Summit|Fellside|Northpeak|Cairn|Alpenglow",
              suffixes="| Pro| Lite| 2| 3| XT", qualities="lightweight|rugged|durable|hard-wearing|well-made",
              uses="for multi-day treks|for wild camping|for long days on the trail|for weekend hikes|for hillwalking in all seasons",
              details="Tested on the Pennine Way.|Holds up well in wind and sideways rain.|Backed by a lifetime repair service.|Made from recycled materials.",
              products=[
                  ("pair of trail shoes", "Trail Runner", "with a grippy sole that bites into mud|with a rock plate|with a cushioned midsole", (80, 160)),
                  ("pair of hiking boots", "Trekker", "with a waterproof membrane|with a stiff sole that copes with scrambling|with padded ankle support", (100, 220)),
                  ("daypack", "Ridge Pack", "with a ventilated back panel|with a built-in rain cover|with hip-belt pockets", (40, 120)),
                  ("backpacking tent", "Basecamp", "with a three-season rating|with two roomy porches|with a quick-pitch frame", (120, 450)),
                  ("sleeping bag", "Down Loft", "with a comfort rating of minus two|with a snug hood|with a water-resistant shell", (60, 300)),
                  ("rain jacket", "Stormshell", "with taped seams|with pit zips|with a helmet-compatible hood", (60, 250)),
                  ("head torch", "Nightpath", "with a red-light mode|with a rechargeable battery|with a 400-lumen beam", (15, 60)),
              ], price=(25, 260)),
        make_kind("Books", brands="Walks in|Wild Trails of|Hill Days in|Rambles through",
              suffixes="| (2nd edition)|: 40 Routes|: Day Walks", qualities="pocket-sized|detailed|well-illustrated|up-to-date",
              uses="for hillwalkers of every level|for planning weekend hikes|for long-distance walkers|for families on the trail",
              details="Every route was walked again for this edition.|Fits in a jacket pocket.|Includes routes for short winter days.|Printed on tear-resistant paper.",
              products=[
                  ("walking guidebook", "the Lake District", "with clear route maps|with elevation profiles|with notes on parking and buses"),
                  ("trail guide", "Snowdonia", "with GPS waypoints|with every route graded|with tips on wild camping spots"),
                  ("route book", "the Highlands", "with hand-drawn maps|with stage-by-stage timings|with advice on river crossings"),
                  ("hiking guide", "the Dolomites", "with hut-to-hut itineraries|with notes on via ferrata routes|with colour photographs"),
              ], price=(9, 28)),
    ],
)

GARDENING = make_theme(
    "Gardening",
    audiences="allotment holders|balcony gardeners|keen gardeners|vegetable growers|new gardeners",
    personas="allotment gardener|keen vegetable grower|balcony gardener|rose grower|compost enthusiast",
    topics="gardening|growing vegetables|houseplants|composting|roses",
    activities="pottering in the greenhouse|sowing seeds in spring|digging the allotment|pruning the roses",
    kinds=[
        make_kind("Garden tools", brands="Greenthumb|Potting Shed|Hedgerow|Rootstock|Willowbrook",
              suffixes="| Classic| Pro| Deluxe| Compact", qualities="ergonomic|weatherproof|sturdy|rust-resistant|well-balanced",
              uses="for planting bulbs and seedlings|for vegetable beds|for small urban gardens|for the allotment|for tidying borders in autumn",
              details="Rust-resistant and built to last.|Fits neatly in a small shed.|Comes with a ten-year guarantee.|Made from recycled materials.",
              products=[
                  ("hand trowel", "Trowel", "with an ash-wood handle|with a stainless-steel blade|with depth markings", (8, 25)),
                  ("pair of pruning shears", "Pruner", "with a bypass blade|with a safety lock|with a soft-grip handle", (12, 45)),
                  ("watering can", "Watering Can", "with a long spout|with a brass rose|with a ten-litre capacity", (10, 35)),
                  ("raised bed kit", "Raised Bed", "with untreated larch boards|with corner posts|with a weed membrane", (60, 200)),
                  ("compost bin", "Compost Bin", "with a sliding hatch|with a vented lid|with a three-hundred-litre capacity", (30, 90)),
                  ("garden kneeler", "Kneeler", "with padded foam|with fold-out handles|with tool pockets", (10, 30)),
              ], price=(8, 150)),
        make_kind("Seeds & plants", brands="Heritage|Cottage Garden|Kitchen Garden|Hedgerow|Orchard",
              suffixes="| Gift Set|", qualities="easy-to-grow|heirloom|hardy|pollinator-friendly|organic",
              uses="for a colourful summer border|for a productive vegetable patch|for a sunny windowsill|for bees and butterflies",
              details="Sow from March to May for a summer harvest.|Attracts bees and butterflies to the border.|Fits neatly on a small patio.|Hardy through frosty winters.",
              products=[
                  ("vegetable seed collection", "Tomato Collection", "with sowing instructions on every packet|with disease-resistant varieties|with cherry and beefsteak types"),
                  ("wildflower seed mix", "Meadow Mix", "with poppies and cornflowers|with native species only|with enough seed to cover ten square metres"),
                  ("tulip bulb pack", "Bulb Pack", "with fifty bulbs|with early and late flowering varieties|with a planting depth guide"),
                  ("dwarf apple tree", "Apple Tree", "with a two-year-old rootstock|with a self-fertile variety|with a support stake"),
                  ("climbing rose", "Rose Bush", "with fragrant double blooms|with repeat flowering all summer|with a trellis tie kit"),
              ], price=(3, 45)),
    ],
)

FOOTBALL = make_theme(
    "Football",
    audiences="football fans|Sunday league players|season-ticket holders|youth players|five-a-side regulars",
    personas="season-ticket holder|Sunday league striker|five-a-side regular|lifelong football fan|youth football coach",
    topics="football|the Premier League|five-a-side|matchday|football tactics",
    activities="watching every match|arguing about tactics|coaching the under-tens|playing five-a-side on Thursdays",
    kinds=[
        make_kind("Sportswear", brands="Striker|Matchday|Terrace|Clubhouse|Goalline",
              suffixes="| 24/25| Retro| Junior| Elite", qualities="breathable|lightweight|official|retro-style|moisture-wicking",
              uses="for matchday|for Sunday league games|for five-a-side nights|for supporters in the stands",
              details="Official replica of this season's kit.|Worn by the first team in training.|A must for the away end.|Machine washable at thirty degrees.",
              products=[
                  ("home shirt", "Home Shirt", "with an embroidered club crest|with the player's name and number|with a ribbed collar", (40, 80)),
                  ("away shirt", "Away Shirt", "with a bold striped design|with a sponsor logo on the chest|with mesh side panels", (40, 80)),
                  ("training top", "Training Top", "with a quarter zip|with thumb loops|with reflective details", (25, 60)),
                  ("pair of football boots", "Boots", "with firm-ground studs|with a knitted upper|with a sock-like collar", (50, 180)),
                  ("club scarf", "Scarf", "with the club colours|with tassels at both ends|with the year the club was founded", (12, 25)),
              ], price=(12, 120)),
        make_kind("Sports equipment", brands="Pitchside|Kickoff|Top Corner|Sixyard",
              suffixes="| Pro| Size 5| Academy|", qualities="match-quality|durable|high-visibility|lightweight",
              uses="for training sessions|for youth football|for penalty practice|for a kickabout in the park",
              details="Used by academy coaches.|Holds up after a season of hard use.|Works on artificial and grass pitches.|Easy to pack into a kit bag.",
              products=[
                  ("match ball", "Match Ball", "with a thermo-bonded surface|with a true, stable flight|with a bright winter colourway", (15, 90)),
                  ("pair of goalkeeper gloves", "Keeper Gloves", "with latex palms|with finger protection|with a wide wrist strap", (15, 60)),
                  ("set of shin pads", "Shin Pads", "with ankle protection|with a moulded shell|with elastic sleeves", (8, 25)),
                  ("football rebounder", "Rebounder", "with an adjustable angle|with a steel frame|with ground pegs", (40, 120)),
              ], price=(8, 90)),
    ],
)

PHOTOGRAPHY = make_theme(
    "Photography",
    audiences="landscape photographers|street photographers|photography students|wedding photographers|hobby photographers",
    personas="amateur photographer|street photographer|film photography enthusiast|landscape photographer|bird photographer",
    topics="photography|film cameras|street photography|landscape photography|photo editing",
    activities="chasing golden hour|editing photos late at night|shooting on 35 mm film|waiting for the perfect light",
    kinds=[
        make_kind("Camera gear", brands="Lumen|Aperture|Brightfield|Nordlicht|Focal",
              suffixes="| Travel| Pro| II| Mark III", qualities="compact|lightweight|weather-sealed|professional|rugged",
              uses="for portraits with soft backgrounds|for landscape photography|for street photography|for low-light shooting|for travel photography",
              details="Weather-sealed against dust and drizzle.|Small enough to carry every day.|Built to survive years of travel.|Comes with a two-year warranty.",
              products=[
                  ("50 mm prime lens", "Prime 50", "with silent autofocus|with a fast f/1.8 aperture|with multi-coated glass", (150, 700)),
                  ("zoom lens", "Zoom 24-70", "with image stabilisation|with a constant f/4 aperture|with a manual focus ring", (300, 1200)),
                  ("carbon fibre tripod", "Tripod", "with a ball head|with an Arca-style plate|with twist-lock legs", (60, 300)),
                  ("camera sling bag", "Sling Bag", "with padded dividers|with quick side access|with a tablet pocket", (30, 120)),
                  ("ND filter kit", "Filter Kit", "with three neutral density strengths|with a magnetic holder|with a polariser", (40, 200)),
                  ("film camera", "Rangefinder", "with a bright viewfinder|with a light meter|with a fully mechanical shutter", (120, 600)),
              ], price=(25, 1200)),
        make_kind("Courses", brands="Golden Hour|Shutter School|Darkroom Lab|Frame by Frame",
              suffixes="| Online| Weekend| Beginner| Advanced", qualities="hands-on|beginner-friendly|in-depth|small-group",
              uses="for mastering manual mode|for better composition|for editing RAW photos|for shooting in low light",
              details="Your photos are reviewed by a working photographer.|No expensive gear needed; a phone camera is fine.|Lessons are recorded so you can catch up.|Places are limited to eight people.",
              products=[
                  ("photography course", "Photography Course", "with critiques of your own photos|with weekly shooting assignments|with lessons on exposure"),
                  ("composition workshop", "Composition Workshop", "with a walk through the old town|with exercises in framing and leading lines|with a professional photographer"),
                  ("photo editing masterclass", "Editing Masterclass", "with downloadable RAW files|with colour grading presets|with before-and-after breakdowns"),
                  ("guided photo walk", "Photo Walk", "with a sunrise start|with tips on camera settings|with a small group of six"),
              ], price=(25, 300)),
    ],
)

TRAVEL = make_theme(
    "Travel",
    audiences="backpackers|city breakers|frequent flyers|digital nomads|family travellers",
    personas="travel addict|backpacker|city-break enthusiast|frequent flyer|digital nomad|slow traveller",
    topics="travel|city breaks|backpacking|train journeys|Southeast Asia",
    activities="planning the next trip|hunting for cheap flights|exploring new cities|taking the slow train across Europe",
    kinds=[
        make_kind("Luggage", brands="Voyager|Wayfarer|Nomad|Jetstream|Compass",
              suffixes="| 40L| 55cm| Carry-On| Lite| Plus", qualities="carry-on sized|featherlight|expandable|hard-wearing|compressible",
              uses="for weekend city breaks|for backpacking across Asia|for long-haul flights|for hand-luggage-only trips",
              details="Survives being thrown onto luggage carousels.|Comes with a five-year warranty.|Weighs next to nothing.|Tested on a year-long round-the-world trip.",
              products=[
                  ("cabin suitcase", "Cabin Case", "with four spinner wheels|with a lockable zip|with a hard shell", (60, 280)),
                  ("travel backpack", "Travel Pack", "with a laptop sleeve|with a clamshell opening|with stowaway straps", (50, 200)),
                  ("set of packing cubes", "Packing Cubes", "with compression zips|with mesh tops|with a laundry bag", (15, 40)),
                  ("memory-foam neck pillow", "Neck Pillow", "with a washable cover|with an eye mask|with a clip to hang on your bag", (12, 35)),
                  ("passport wallet", "Passport Wallet", "with RFID blocking|with boarding-pass slots|with a zip coin pocket", (12, 45)),
              ], price=(12, 280)),
        make_kind("Travel guides", brands="Lisbon|Kyoto|Mexico City|Istanbul|Vietnam|Iceland",
              suffixes="| 2025| (3rd edition)| Essentials|", qualities="up-to-date|pocket-sized|locally written|well-researched",
              uses="for first-time visitors|for a long weekend away|for independent travellers|for getting off the tourist trail",
              details="Includes a fold-out city map.|Covers the best neighbourhoods to stay in.|Written by locals, not tourist boards.|Updated with new cafés and museums.",
              products=[
                  ("city guide", "City Guide", "with day-by-day itineraries|with a fold-out map|with the best places to eat"),
                  ("travel guide", "Pocket Guide", "with tips on local transport|with walking routes|with a list of free museums"),
                  ("phrasebook", "Phrasebook", "with pronunciation help|with a food and menu glossary|with emergency phrases"),
                  ("guided walking tour", "Walking Tour", "with a local guide|with stops at hidden courtyards|with a tasting at a family bakery"),
              ], price=(8, 90)),
    ],
)

PETS = make_theme(
    "Pets",
    audiences="dog owners|cat lovers|puppy parents|rescue owners|pet sitters",
    personas="dog owner|proud puppy parent|rescue dog owner|animal lover|dog walker",
    topics="dogs|cats|dog training|long dog walks|pet care",
    activities="walking the dog at dawn|training a new puppy|taking the dog on long walks|volunteering at the rescue centre",
    kinds=[
        make_kind("Pet supplies", brands="Pawsome|Waggle|Whiskers & Co|Barkley",
              suffixes="| Small| Medium| Large| Deluxe", qualities="cosy|chew-resistant|washable|padded|adjustable",
              uses="for everyday life with pets|for busy pet households|for a calmer, happier pet|for pets of every age",
              details="Easy to wipe clean.|Built to survive years of daily use.|Sized for small, medium and large pets.|Tested by our own office dogs and cats.",
              products=[
                  ("orthopaedic dog bed", "Dog Bed", "with a memory-foam base|with raised bolsters|with a non-slip bottom", (30, 120)),
                  ("cat scratching tree", "Cat Tree", "with sisal-wrapped posts|with a hideaway den|with a hanging toy", (40, 140)),
                  ("reflective dog lead", "Lead", "with a padded handle|with a traffic handle|with a poo-bag holder", (8, 30)),
                  ("rubber chew toy", "Chew Toy", "with a treat pocket|with a bouncy shape|with a minty scent", (5, 15)),
                  ("no-pull harness", "Harness", "with a front clip|with padded straps|with five adjustment points", (15, 45)),
              ], price=(6, 140)),
        make_kind("Pet food", brands="Happy Paws|Purrfect|Nature's Bowl|Tail Wagger",
              suffixes="| 2kg| 6kg| Grain-Free| Salmon Recipe", qualities="grain-free|high-protein|natural|gentle",
              uses="for sensitive stomachs|for fussy eaters|for pets of every age|for everyday feeding",
              details="Vet-approved recipe with no artificial colours.|Suitable for puppies and senior dogs.|Made with sustainably sourced fish.|Resealable bag keeps it fresh.",
              products=[
                  ("bag of dry dog food", "Dog Food", "with real chicken|with added omega oils|with no artificial preservatives"),
                  ("pouch of cat treats", "Cat Treats", "with tuna and catnip|with a crunchy centre|with added taurine"),
                  ("bag of puppy kibble", "Puppy Kibble", "with small bite-sized pieces|with added DHA|with lamb and rice"),
                  ("pack of dental chews", "Dental Chews", "with a ridged shape that cleans teeth|with green tea extract|with no added sugar"),
              ], price=(4, 60)),
    ],
)
