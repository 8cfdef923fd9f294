/*
 * seed_names.c — name, city and street tables for the seeder, per culture and script.
 *
 * Common given names and surnames of each culture (public-domain frequency lists, a handful
 * each), in Latin transliteration and, for several cultures, in the native script as a
 * separate culture entry, so the KYC app meets Cyrillic, Arabic, Han, Kana, Hangul, Greek,
 * Devanagari and Hebrew names as real customer bases have them.
 */
#include "seed_internal.h"

/* ---- English (GB, US) ---- */
static const char *const en_m[] = {"James",   "John",   "Robert", "Michael", "William", "David",
                                   "Richard", "Thomas", "Daniel", "Oliver",  "George",  "Harry"};
static const char *const en_f[] = {"Mary",      "Patricia",  "Jennifer", "Linda",
                                   "Elizabeth", "Susan",     "Emily",    "Olivia",
                                   "Amelia",    "Charlotte", "Sophie",   "Grace"};
static const char *const en_l[] = {"Smith",    "Johnson",  "Williams", "Brown",  "Jones",  "Miller",
                                   "Davis",    "Wilson",   "Taylor",   "Clarke", "Walker", "Wright",
                                   "Robinson", "Thompson", "Hughes",   "O'Brien"};
static const char *const gb_c[] = {"London",  "Manchester", "Birmingham", "Leeds",
                                   "Glasgow", "Bristol",    "Edinburgh",  "Cardiff"};
static const char *const us_c[] = {"New York", "Chicago", "Houston", "Phoenix",  "Seattle",
                                   "Denver",   "Boston",  "Atlanta", "San Diego"};
static const char *const en_s[] = {"High Street", "Station Road", "Main Street", "Park Avenue",
                                   "Oak Lane",    "Church Road",  "Maple Drive", "Elm Street"};
static const char *const gb_o[] = {"Ltd", "PLC", "LLP", "Holdings Ltd"};
static const char *const us_o[] = {"Inc.", "LLC", "Corp.", "Co."};

/* ---- Spanish (ES, MX) and Portuguese (BR) ---- */
static const char *const es_m[] = {"José",   "Juan",      "Carlos", "Luis",  "Javier",
                                   "Miguel", "Alejandro", "Diego",  "Jesús", "Andrés"};
static const char *const es_f[] = {"María", "Carmen",    "Ana",       "Lucía", "Isabel",
                                   "Sofía", "Guadalupe", "Valentina", "Elena", "Paula"};
static const char *const es_l[] = {"García",    "Rodríguez", "González", "Fernández",
                                   "López",     "Martínez",  "Sánchez",  "Pérez",
                                   "Hernández", "Ramírez",   "Torres",   "Flores"};
static const char *const es_c[] = {"Madrid",   "Barcelona", "Valencia", "Sevilla",
                                   "Zaragoza", "Málaga",    "Bilbao"};
static const char *const mx_c[] = {"Ciudad de México", "Guadalajara", "Monterrey",
                                   "Puebla",           "Tijuana",     "Mérida"};
static const char *const es_s[] = {"Calle Mayor",   "Avenida de la Constitución",
                                   "Calle Real",    "Paseo de Gracia",
                                   "Calle del Sol", "Avenida Juárez"};
static const char *const es_o[] = {"S.A.", "S.L.", "S.A. de C.V."};
static const char *const br_m[] = {"João",   "Pedro",   "Lucas",  "Gabriel", "Mateus",
                                   "Rafael", "Gustavo", "Felipe", "Thiago"};
static const char *const br_f[] = {"Ana",    "Maria",   "Juliana", "Fernanda", "Beatriz",
                                   "Camila", "Larissa", "Letícia", "Mariana"};
static const char *const br_l[] = {"Silva",     "Santos",  "Oliveira", "Souza",
                                   "Lima",      "Pereira", "Ferreira", "Costa",
                                   "Rodrigues", "Almeida", "Gonçalves"};
static const char *const br_c[] = {"São Paulo", "Rio de Janeiro", "Belo Horizonte", "Salvador",
                                   "Fortaleza", "Curitiba",       "Recife"};
static const char *const br_s[] = {"Rua das Flores", "Avenida Paulista", "Rua São João",
                                   "Avenida Brasil", "Rua da Consolação"};
static const char *const br_o[] = {"Ltda.", "S.A.", "ME"};

/* ---- German, French, Italian, Polish, Turkish ---- */
static const char *const de_m[] = {"Lukas",  "Maximilian", "Jonas", "Felix",    "Paul",
                                   "Stefan", "Jürgen",     "Klaus", "Matthias", "Tobias"};
static const char *const de_f[] = {"Anna",   "Lena",      "Laura", "Julia",  "Sabine",
                                   "Ursula", "Katharina", "Mia",   "Hannah", "Jana"};
static const char *const de_l[] = {"Müller", "Schmidt", "Schneider", "Fischer",  "Weber",   "Meyer",
                                   "Wagner", "Becker",  "Schulz",    "Hoffmann", "Schäfer", "Koch"};
static const char *const de_c[] = {
    "Berlin",    "Hamburg",    "München", "Köln", "Frankfurt am Main",
    "Stuttgart", "Düsseldorf", "Leipzig"};
static const char *const de_s[] = {"Hauptstraße",   "Schulstraße", "Gartenstraße",
                                   "Bahnhofstraße", "Lindenweg",   "Goethestraße"};
static const char *const de_o[] = {"GmbH", "AG", "GmbH & Co. KG", "e.K."};
static const char *const fr_m[] = {"Jean", "Pierre", "Michel",  "Louis",    "Lucas",
                                   "Hugo", "Théo",   "Nicolas", "François", "Étienne"};
static const char *const fr_f[] = {"Marie", "Camille",  "Léa",      "Chloé",    "Manon",
                                   "Inès",  "Juliette", "Nathalie", "Isabelle", "Françoise"};
static const char *const fr_l[] = {"Martin", "Bernard", "Dubois", "Thomas", "Robert",  "Richard",
                                   "Petit",  "Durand",  "Leroy",  "Moreau", "Lefèvre", "Girard"};
static const char *const fr_c[] = {"Paris", "Marseille", "Lyon",       "Toulouse",
                                   "Nice",  "Nantes",    "Strasbourg", "Bordeaux"};
static const char *const fr_s[] = {"rue de la République", "avenue Victor Hugo",
                                   "rue de Paris",         "boulevard Voltaire",
                                   "rue des Lilas",        "place de l'Église"};
static const char *const fr_o[] = {"SA", "SARL", "SAS"};
static const char *const it_m[] = {"Giuseppe",  "Giovanni",   "Antonio", "Marco",  "Luca",
                                   "Francesco", "Alessandro", "Matteo",  "Lorenzo"};
static const char *const it_f[] = {"Giulia",  "Francesca", "Chiara", "Sara", "Martina",
                                   "Alessia", "Giorgia",   "Rosa",   "Anna"};
static const char *const it_l[] = {"Rossi",   "Russo", "Ferrari", "Esposito", "Bianchi", "Romano",
                                   "Colombo", "Ricci", "Marino",  "Greco",    "De Luca"};
static const char *const it_c[] = {"Roma",    "Milano", "Napoli",  "Torino",
                                   "Palermo", "Genova", "Bologna", "Firenze"};
static const char *const it_s[] = {"Via Roma",  "Via Garibaldi", "Corso Italia",
                                   "Via Dante", "Via Mazzini",   "Piazza del Duomo"};
static const char *const it_o[] = {"S.p.A.", "S.r.l."};
static const char *const pl_m[] = {"Piotr",  "Krzysztof", "Andrzej", "Tomasz", "Paweł",
                                   "Michał", "Marcin",    "Jakub",   "Łukasz"};
static const char *const pl_f[] = {"Anna",    "Maria", "Katarzyna", "Małgorzata", "Agnieszka",
                                   "Barbara", "Ewa",   "Zofia",     "Magdalena"};
static const char *const pl_l[] = {"Nowak",    "Kowalski",    "Wiśniewski", "Wójcik",   "Kowalczyk",
                                   "Kamiński", "Lewandowski", "Zieliński",  "Szymański"};
static const char *const pl_c[] = {"Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk"};
static const char *const pl_s[] = {"ulica Długa", "ulica Polna", "ulica Leśna", "ulica Słoneczna",
                                   "aleja Jana Pawła II"};
static const char *const pl_o[] = {"Sp. z o.o.", "S.A."};
static const char *const tr_m[] = {"Mehmet", "Mustafa", "Ahmet", "Ali",  "Hüseyin",
                                   "Hasan",  "İbrahim", "Yusuf", "Emre", "Murat"};
static const char *const tr_f[] = {"Fatma", "Ayşe",   "Emine",  "Hatice", "Zeynep",
                                   "Elif",  "Meryem", "Şerife", "Esra"};
static const char *const tr_l[] = {"Yılmaz",   "Kaya",   "Demir", "Şahin",   "Çelik", "Yıldız",
                                   "Yıldırım", "Öztürk", "Aydın", "Özdemir", "Arslan"};
static const char *const tr_c[] = {"İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Konya"};
static const char *const tr_s[] = {"Atatürk Caddesi", "Cumhuriyet Caddesi", "İnönü Sokak",
                                   "Gazi Bulvarı"};
static const char *const tr_o[] = {"A.Ş.", "Ltd. Şti."};

/* ---- Arabic (Latin and Arabic script), Persian ---- */
static const char *const ar_m[] = {"Mohammed", "Ahmed",  "Ali",      "Omar",  "Khalid", "Youssef",
                                   "Ibrahim",  "Hassan", "Abdullah", "Tariq", "Karim",  "Said"};
static const char *const ar_f[] = {"Fatima", "Aisha", "Mariam", "Noura", "Layla",
                                   "Huda",   "Salma", "Zainab", "Amira", "Rania"};
static const char *const ar_l[] = {"Al-Sayed",     "Haddad",  "Khoury",  "Al-Farsi",
                                   "Mansour",      "Nasser",  "Hamdan",  "Saleh",
                                   "Abdel-Rahman", "Al-Amin", "Qureshi", "Bakr"};
static const char *const ae_c[] = {"Dubai", "Abu Dhabi", "Sharjah", "Al Ain"};
static const char *const eg_c[] = {"Cairo", "Alexandria", "Giza", "Luxor", "Aswan"};
static const char *const ar_s[] = {"Sheikh Zayed Road", "Al Wasl Road", "Tahrir Street",
                                   "Corniche Road", "King Fahd Road"};
static const char *const ar_o[] = {"LLC", "FZE", "FZ-LLC", "S.A.E."};
static const char *const ara_m[] = {"محمد", "أحمد", "علي", "عمر", "خالد", "يوسف", "إبراهيم", "حسن"};
static const char *const ara_f[] = {"فاطمة", "عائشة", "مريم", "نورة", "ليلى", "هدى", "سلمى"};
static const char *const ara_l[] = {"السيد", "حداد",  "خوري", "منصور",
                                    "ناصر",  "حمدان", "صالح", "الأمين"};
static const char *const sa_c[] = {"Riyadh", "Jeddah", "Mecca", "Medina", "Dammam"};
static const char *const ir_m[] = {"Reza", "Mohammad", "Hossein", "Mehdi",
                                   "Amir", "Ali",      "Hamid",   "Saeed"};
static const char *const ir_f[] = {"Zahra", "Maryam", "Fatemeh", "Narges",
                                   "Sara",  "Leila",  "Shirin"};
static const char *const ir_l[] = {"Hosseini", "Mohammadi", "Rezaei", "Ahmadi", "Moradi",
                                   "Karimi",   "Jafari",    "Rahimi", "Sadeghi"};
static const char *const ir_c[] = {"Tehran", "Mashhad", "Isfahan", "Shiraz", "Tabriz"};
static const char *const ir_s[] = {"Valiasr Street", "Enghelab Street", "Azadi Avenue"};
static const char *const ir_o[] = {"Co.", "PJSC"};

/* ---- Russian (Latin and Cyrillic), Ukrainian ---- */
static const char *const ru_m[] = {"Alexander", "Sergei", "Dmitry",  "Andrei",  "Alexei",
                                   "Vladimir",  "Ivan",   "Nikolai", "Mikhail", "Yevgeny"};
static const char *const ru_f[] = {"Elena",    "Olga",      "Natalia",    "Tatiana", "Irina",
                                   "Svetlana", "Anastasia", "Yekaterina", "Maria"};
static const char *const ru_l[] = {"Ivanov",   "Smirnov", "Kuznetsov", "Popov",
                                   "Vasiliev", "Petrov",  "Sokolov",   "Mikhailov",
                                   "Novikov",  "Fedorov", "Morozov",   "Volkov"};
static const char *const ru_c[] = {
    "Moscow", "Saint Petersburg", "Novosibirsk", "Yekaterinburg", "Kazan", "Samara"};
static const char *const ru_s[] = {"Lenina ulitsa", "Tverskaya ulitsa", "Nevsky prospekt",
                                   "Sadovaya ulitsa"};
static const char *const ru_o[] = {"OOO", "AO", "PAO"};
static const char *const cy_m[] = {"Александр", "Сергей",   "Дмитрий", "Андрей",
                                   "Алексей",   "Владимир", "Иван",    "Николай"};
static const char *const cy_f[] = {"Елена", "Ольга",    "Наталья",  "Татьяна",
                                   "Ирина", "Светлана", "Анастасия"};
static const char *const cy_l[] = {"Иванов",   "Смирнов", "Кузнецов", "Попов",
                                   "Васильев", "Петров",  "Соколов",  "Волков"};
static const char *const ua_m[] = {"Oleksandr", "Andriy", "Serhiy", "Volodymyr",
                                   "Mykola",    "Taras",  "Bohdan", "Yuriy"};
static const char *const ua_f[] = {"Olena",  "Oksana",   "Nataliya", "Iryna",
                                   "Yuliya", "Kateryna", "Viktoriya"};
static const char *const ua_l[] = {"Melnyk", "Shevchenko", "Bondarenko", "Kovalenko",
                                   "Boyko",  "Tkachenko",  "Kravchenko", "Oliynyk"};
static const char *const ua_c[] = {"Kyiv", "Kharkiv", "Odesa", "Dnipro", "Lviv"};
static const char *const ua_s[] = {"Khreshchatyk", "Shevchenka vulytsia", "Franka vulytsia"};
static const char *const ua_o[] = {"TOV", "PrAT"};

/* ---- China (pinyin and Han), Japan (romaji and kanji), Korea (Latin and Hangul),
 *      Vietnam, India (Latin and Devanagari) ---- */
static const char *const cn_m[] = {"Wei", "Jun",  "Hao",  "Lei",   "Jie",
                                   "Tao", "Ming", "Yong", "Qiang", "Bo"};
static const char *const cn_f[] = {"Fang",     "Na",  "Min",  "Jing", "Li",
                                   "Xiu Ying", "Yan", "Juan", "Xia",  "Mei"};
static const char *const cn_l[] = {"Wang",  "Li",   "Zhang", "Liu",  "Chen", "Yang",
                                   "Huang", "Zhao", "Wu",    "Zhou", "Xu",   "Sun"};
static const char *const cn_c[] = {"Beijing", "Shanghai", "Guangzhou", "Shenzhen",
                                   "Chengdu", "Hangzhou", "Wuhan"};
static const char *const cn_s[] = {"Renmin Road", "Zhongshan Road", "Jiefang Road", "Nanjing Road",
                                   "Changan Avenue"};
static const char *const cn_o[] = {"Co., Ltd.", "Group Co., Ltd.", "Technology Co., Ltd."};
static const char *const hz_m[] = {"伟", "军", "浩", "磊", "杰", "涛", "明", "勇"};
static const char *const hz_f[] = {"芳", "娜", "敏", "静", "丽", "秀英", "燕", "娟"};
static const char *const hz_l[] = {"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"};
static const char *const jp_m[] = {"Haruto", "Sota",  "Yuto", "Hiroshi", "Takashi",
                                   "Kenji",  "Daiki", "Ren",  "Kaito"};
static const char *const jp_f[] = {"Yui",   "Hina",  "Sakura", "Yuki", "Aoi",
                                   "Keiko", "Naomi", "Haruka", "Emi"};
static const char *const jp_l[] = {"Sato", "Suzuki",   "Takahashi", "Tanaka",    "Watanabe",
                                   "Ito",  "Yamamoto", "Nakamura",  "Kobayashi", "Kato"};
static const char *const jp_c[] = {"Tokyo",   "Osaka", "Yokohama", "Nagoya",
                                   "Sapporo", "Kobe",  "Kyoto",    "Fukuoka"};
static const char *const jp_s[] = {"Chuo-dori", "Ginza", "Shinjuku", "Umeda", "Sakae"};
static const char *const jp_o[] = {"K.K.", "Co., Ltd.", "G.K."};
static const char *const kj_m[] = {"翔太", "大輝", "健二", "博", "隆", "蓮"};
static const char *const kj_f[] = {"さくら", "結衣", "陽菜", "由紀", "恵子", "直美"};
static const char *const kj_l[] = {"佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "山本", "中村"};
static const char *const kr_m[] = {"Min-jun",   "Seo-jun",  "Ji-hoon", "Hyun-woo",
                                   "Dong-hyun", "Sung-min", "Jae-won"};
static const char *const kr_f[] = {"Seo-yeon", "Ji-woo",  "Ha-eun", "Min-seo",
                                   "Su-bin",   "Ji-yeon", "Eun-ji"};
static const char *const kr_l[] = {"Kim",  "Lee", "Park", "Choi", "Jung",
                                   "Kang", "Cho", "Yoon", "Jang", "Lim"};
static const char *const kr_c[] = {"Seoul", "Busan", "Incheon", "Daegu", "Daejeon", "Gwangju"};
static const char *const kr_s[] = {"Teheran-ro", "Sejong-daero", "Gangnam-daero", "Jong-ro"};
static const char *const kr_o[] = {"Co., Ltd.", "Corp."};
static const char *const hg_m[] = {"민준", "서준", "지훈", "현우", "동현", "성민"};
static const char *const hg_f[] = {"서연", "지우", "하은", "민서", "수빈", "지연"};
static const char *const hg_l[] = {"김", "이", "박", "최", "정", "강", "조", "윤"};
static const char *const vn_m[] = {"Minh", "Huy", "Khang", "Bao", "Duc", "Tuan", "Phuc", "Quang"};
static const char *const vn_f[] = {"Linh", "Anh", "Trang", "Huong", "Ngoc", "Thao", "Mai", "Lan"};
static const char *const vn_l[] = {"Nguyen", "Tran", "Le",   "Pham", "Hoang",
                                   "Phan",   "Vu",   "Dang", "Bui",  "Do"};
static const char *const vn_c[] = {"Ho Chi Minh City", "Hanoi", "Da Nang", "Hai Phong", "Can Tho"};
static const char *const vn_s[] = {"Le Loi", "Nguyen Hue", "Tran Hung Dao", "Hai Ba Trung"};
static const char *const vn_o[] = {"JSC", "Co., Ltd."};
static const char *const in_m[] = {"Aarav",  "Vihaan", "Arjun",  "Rahul", "Amit",    "Rajesh",
                                   "Sanjay", "Vikram", "Suresh", "Anil",  "Mohammed"};
static const char *const in_f[] = {"Priya", "Ananya",  "Aditi", "Pooja", "Sunita",
                                   "Kavya", "Lakshmi", "Neha",  "Divya", "Anjali"};
static const char *const in_l[] = {"Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel",
                                   "Reddy",  "Nair",  "Iyer",  "Das",   "Khan",  "Mukherjee"};
static const char *const in_c[] = {"Mumbai",  "Delhi",   "Bengaluru", "Hyderabad",
                                   "Chennai", "Kolkata", "Pune",      "Ahmedabad"};
static const char *const in_s[] = {"MG Road", "Nehru Street", "Gandhi Nagar", "Park Street",
                                   "Brigade Road"};
static const char *const in_o[] = {"Pvt. Ltd.", "Ltd.", "LLP"};
static const char *const dv_m[] = {"आरव", "अर्जुन", "राहुल", "अमित", "राजेश", "संजय"};
static const char *const dv_f[] = {"प्रिया", "अनन्या", "पूजा", "सुनीता", "नेहा", "दिव्या"};
static const char *const dv_l[] = {"शर्मा", "वर्मा", "गुप्ता", "सिंह", "कुमार", "पटेल"};

/* ---- Africa: Nigeria (Yoruba, Igbo, Hausa), Kenya, South Africa, Ghana ---- */
static const char *const ng_m[] = {"Oluwaseun", "Chinedu", "Emeka",   "Abubakar",
                                   "Musa",      "Tunde",   "Ifeanyi", "Ibrahim",
                                   "Babatunde", "Segun",   "Usman",   "Chukwuemeka"};
static const char *const ng_f[] = {"Ngozi", "Chioma", "Aisha",   "Folake", "Funmilayo",
                                   "Amina", "Adaeze", "Yetunde", "Hauwa",  "Nkechi"};
static const char *const ng_l[] = {"Okafor",  "Adeyemi",  "Ogunleye", "Eze",     "Bello",
                                   "Okonkwo", "Abubakar", "Nwosu",    "Adebayo", "Ibrahim",
                                   "Olawale", "Mohammed", "Chukwu"};
static const char *const ng_c[] = {"Lagos",         "Abuja", "Kano",  "Ibadan",
                                   "Port Harcourt", "Enugu", "Kaduna"};
static const char *const ng_s[] = {"Awolowo Road", "Adeola Odeku Street", "Ahmadu Bello Way",
                                   "Broad Street", "Allen Avenue"};
static const char *const ng_o[] = {"Ltd", "PLC", "Nigeria Limited"};
static const char *const ke_m[] = {"Brian",  "Kevin",   "Dennis", "Kamau",
                                   "Otieno", "Wanjiru", "Mwangi", "Kipchoge"};
static const char *const ke_f[] = {"Faith", "Mercy",   "Akinyi", "Wanjiku",
                                   "Njeri", "Achieng", "Chebet"};
static const char *const ke_l[] = {"Mwangi",  "Otieno",  "Kamau",   "Odhiambo",
                                   "Kariuki", "Njoroge", "Ochieng", "Kiprotich"};
static const char *const ke_c[] = {"Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret"};
static const char *const ke_s[] = {"Moi Avenue", "Kenyatta Avenue", "Ngong Road", "Uhuru Highway"};
static const char *const za_m[] = {"Thabo",   "Sipho",  "Johan", "Pieter",
                                   "Bongani", "Themba", "Lwazi", "Kagiso"};
static const char *const za_f[] = {"Nomvula", "Thandiwe", "Lerato", "Ayanda",
                                   "Annelie", "Zanele",   "Naledi"};
static const char *const za_l[] = {"Nkosi",   "Dlamini", "Ndlovu", "Van der Merwe", "Botha",
                                   "Mokoena", "Khumalo", "Naidoo", "Pretorius"};
static const char *const za_c[] = {"Johannesburg", "Cape Town", "Durban", "Pretoria",
                                   "Port Elizabeth"};
static const char *const za_s[] = {"Long Street", "Jan Smuts Avenue", "Nelson Mandela Drive",
                                   "Church Street"};
static const char *const za_o[] = {"(Pty) Ltd", "Ltd"};
static const char *const gh_m[] = {"Kwame", "Kofi", "Kwabena", "Yaw", "Kojo", "Nana"};
static const char *const gh_f[] = {"Ama", "Akosua", "Abena", "Efua", "Adwoa", "Yaa"};
static const char *const gh_l[] = {"Mensah", "Owusu",  "Boateng", "Asante",
                                   "Osei",   "Appiah", "Agyeman"};
static const char *const gh_c[] = {"Accra", "Kumasi", "Tamale", "Takoradi"};
static const char *const gh_s[] = {"Oxford Street", "Liberation Road", "Independence Avenue"};

/* ---- Greek, Hebrew (native script) ---- */
static const char *const gr_m[] = {"Γιώργος", "Δημήτρης", "Κωνσταντίνος",
                                   "Νίκος",   "Γιάννης",  "Παναγιώτης"};
static const char *const gr_f[] = {"Μαρία", "Ελένη", "Αικατερίνη", "Βασιλική", "Σοφία", "Αγγελική"};
static const char *const gr_l[] = {"Παπαδόπουλος", "Παπαδάκης", "Γεωργίου",
                                   "Οικονόμου",    "Νικολάου",  "Βασιλείου"};
static const char *const gr_c[] = {"Athens", "Thessaloniki", "Patras", "Heraklion"};
static const char *const gr_s[] = {"Odos Ermou", "Leoforos Syngrou", "Odos Stadiou"};
static const char *const gr_o[] = {"A.E.", "E.P.E.", "I.K.E."};
static const char *const he_m[] = {"דוד", "יוסף", "משה", "אברהם", "יעקב", "דניאל"};
static const char *const he_f[] = {"שרה", "רחל", "מרים", "נועה", "תמר", "יעל"};
static const char *const he_l[] = {"כהן", "לוי", "מזרחי", "פרץ", "ביטון", "אברהם"};
static const char *const il_c[] = {"Tel Aviv", "Jerusalem", "Haifa", "Beersheba"};
static const char *const il_s[] = {"Rothschild Boulevard", "Dizengoff Street", "Jaffa Road"};
static const char *const il_o[] = {"Ltd.", "Inc."};

#define CULTURE(cc, dial, latin, m, f, l, c, s, fmt, pc, o, w)                                  \
    {                                                                                           \
        cc, dial, latin, m, f, l, c, s, sizeof m / sizeof m[0], sizeof f / sizeof f[0],         \
            sizeof l / sizeof l[0], sizeof c / sizeof c[0], sizeof s / sizeof s[0], fmt, pc, o, \
            sizeof o / sizeof o[0], w                                                           \
    }

const struct seed_culture seed_cultures[] = {
    CULTURE("GB", "44", 1, en_m, en_f, en_l, gb_c, en_s, "%d %s", 0, gb_o, 8),
    CULTURE("US", "1", 1, en_m, en_f, en_l, us_c, en_s, "%d %s", 5, us_o, 12),
    CULTURE("ES", "34", 1, es_m, es_f, es_l, es_c, es_s, "%s %d", 5, es_o, 4),
    CULTURE("MX", "52", 1, es_m, es_f, es_l, mx_c, es_s, "%s %d", 5, es_o, 4),
    CULTURE("BR", "55", 1, br_m, br_f, br_l, br_c, br_s, "%s, %d", 8, br_o, 5),
    CULTURE("DE", "49", 1, de_m, de_f, de_l, de_c, de_s, "%s %d", 5, de_o, 6),
    CULTURE("FR", "33", 1, fr_m, fr_f, fr_l, fr_c, fr_s, "%d %s", 5, fr_o, 5),
    CULTURE("IT", "39", 1, it_m, it_f, it_l, it_c, it_s, "%s %d", 5, it_o, 4),
    CULTURE("PL", "48", 1, pl_m, pl_f, pl_l, pl_c, pl_s, "%s %d", 5, pl_o, 3),
    CULTURE("TR", "90", 1, tr_m, tr_f, tr_l, tr_c, tr_s, "%s No:%d", 5, tr_o, 3),
    CULTURE("AE", "971", 1, ar_m, ar_f, ar_l, ae_c, ar_s, "%d %s", 0, ar_o, 3),
    CULTURE("EG", "20", 1, ar_m, ar_f, ar_l, eg_c, ar_s, "%d %s", 5, ar_o, 3),
    CULTURE("SA", "966", 0, ara_m, ara_f, ara_l, sa_c, ar_s, "%d %s", 5, ar_o, 2),
    CULTURE("IR", "98", 1, ir_m, ir_f, ir_l, ir_c, ir_s, "%d %s", 10, ir_o, 1),
    CULTURE("RU", "7", 1, ru_m, ru_f, ru_l, ru_c, ru_s, "%s %d", 6, ru_o, 3),
    CULTURE("RU", "7", 0, cy_m, cy_f, cy_l, ru_c, ru_s, "%s %d", 6, ru_o, 2),
    CULTURE("UA", "380", 1, ua_m, ua_f, ua_l, ua_c, ua_s, "%s %d", 5, ua_o, 2),
    CULTURE("CN", "86", 1, cn_m, cn_f, cn_l, cn_c, cn_s, "%d %s", 6, cn_o, 5),
    CULTURE("CN", "86", 0, hz_m, hz_f, hz_l, cn_c, cn_s, "%d %s", 6, cn_o, 3),
    CULTURE("JP", "81", 1, jp_m, jp_f, jp_l, jp_c, jp_s, "%s %d", 7, jp_o, 3),
    CULTURE("JP", "81", 0, kj_m, kj_f, kj_l, jp_c, jp_s, "%s %d", 7, jp_o, 2),
    CULTURE("KR", "82", 1, kr_m, kr_f, kr_l, kr_c, kr_s, "%d %s", 5, kr_o, 2),
    CULTURE("KR", "82", 0, hg_m, hg_f, hg_l, kr_c, kr_s, "%d %s", 5, kr_o, 1),
    CULTURE("VN", "84", 1, vn_m, vn_f, vn_l, vn_c, vn_s, "%d %s", 6, vn_o, 2),
    CULTURE("IN", "91", 1, in_m, in_f, in_l, in_c, in_s, "%d %s", 6, in_o, 8),
    CULTURE("IN", "91", 0, dv_m, dv_f, dv_l, in_c, in_s, "%d %s", 6, in_o, 1),
    CULTURE("NG", "234", 1, ng_m, ng_f, ng_l, ng_c, ng_s, "%d %s", 6, ng_o, 8),
    CULTURE("KE", "254", 1, ke_m, ke_f, ke_l, ke_c, ke_s, "%s %d", 5, gb_o, 3),
    CULTURE("ZA", "27", 1, za_m, za_f, za_l, za_c, za_s, "%d %s", 4, za_o, 3),
    CULTURE("GH", "233", 1, gh_m, gh_f, gh_l, gh_c, gh_s, "%d %s", 0, gb_o, 2),
    CULTURE("GR", "30", 0, gr_m, gr_f, gr_l, gr_c, gr_s, "%s %d", 5, gr_o, 1),
    CULTURE("IL", "972", 0, he_m, he_f, he_l, il_c, il_s, "%d %s", 7, il_o, 1),
};
const size_t seed_culture_count = sizeof seed_cultures / sizeof seed_cultures[0];

const char *const seed_org_words[] = {
    "Global",   "Trading",   "Logistics", "Capital",  "Holdings",   "Pharma",       "Energy",
    "Textiles", "Foods",     "Shipping",  "Ventures", "Consulting", "Technologies", "Imports",
    "Exports",  "Minerals",  "Agro",      "Finance",  "Marine",     "Construction", "Motors",
    "Systems",  "Solutions", "Partners",  "Digital",  "Resources",  "Industries",   "Supplies",
};
const size_t seed_org_word_count = sizeof seed_org_words / sizeof seed_org_words[0];

const char *const seed_email_domains[] = {"gmail.com",  "yahoo.com", "outlook.com", "hotmail.com",
                                          "icloud.com", "proton.me", "mail.com",    "gmx.de",
                                          "yandex.ru",  "qq.com",    "orange.fr",   "libero.it"};
const size_t seed_email_domain_count = sizeof seed_email_domains / sizeof seed_email_domains[0];
