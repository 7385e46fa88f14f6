"""Hand-written Indonesian press-release style articles and syndicated variants for tests.

The text is written for these tests (no third-party news text).
"""

from __future__ import annotations

ORIGINAL = """Pemerintah Kabupaten Sukamaju meraih penghargaan kategori pelayanan publik terbaik tingkat provinsi tahun ini setelah menjalani penilaian selama enam bulan oleh tim independen dari kementerian.
Penghargaan tersebut diserahkan langsung oleh gubernur kepada Bupati Sukamaju Hendra Wijaya dalam upacara yang berlangsung di aula kantor gubernur pada Senin pagi, disaksikan para kepala daerah lain.
Menurut Hendra, capaian itu merupakan hasil kerja keras seluruh aparatur sipil negara yang terus memperbaiki layanan perizinan, administrasi kependudukan, dan pengaduan masyarakat secara daring.
"Kami tidak akan berpuas diri. Penghargaan ini justru menjadi cambuk agar pelayanan kepada warga semakin cepat, mudah, dan transparan," ujar Hendra kepada wartawan usai menerima penghargaan.
Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Sukamaju, Ratna Dewi, menambahkan bahwa waktu pengurusan izin usaha kini rata-rata hanya dua hari kerja, jauh lebih singkat dibanding tiga tahun lalu.
Ia menjelaskan bahwa aplikasi layanan mandiri yang diluncurkan awal tahun telah diunduh lebih dari empat puluh ribu warga dan menerima rata-rata seribu permohonan setiap pekan.
Ke depan, pemerintah kabupaten berencana menambah anjungan layanan mandiri di setiap kecamatan agar warga di desa terpencil tidak perlu lagi menempuh perjalanan jauh ke pusat kota.
Tim penilai dari kementerian menyebut Sukamaju unggul dalam aspek inovasi digital dan kecepatan tindak lanjut pengaduan, dua hal yang selama ini menjadi kelemahan banyak daerah."""

OTHER_STORY = """Harga cabai rawit di sejumlah pasar tradisional Kota Lembah Hijau melonjak hingga dua kali lipat dalam sepekan terakhir akibat curah hujan tinggi yang merusak tanaman petani di wilayah pemasok.
Pantauan di Pasar Induk Lembah Hijau pada Rabu pagi menunjukkan cabai rawit merah dijual seharga delapan puluh ribu rupiah per kilogram, padahal pekan lalu masih empat puluh ribu rupiah.
Seorang pedagang, Sutinah, mengaku pembeli mulai mengurangi jumlah belanjaan karena harga yang terus naik setiap hari. "Biasanya orang beli sekilo, sekarang cuma seperempat," katanya.
Dinas Perdagangan kota berencana menggelar operasi pasar murah di lima titik mulai pekan depan untuk menekan harga dan menjaga daya beli masyarakat menjelang hari raya.
Kepala dinas, Agus Salim, mengatakan pihaknya telah berkoordinasi dengan daerah penghasil cabai di luar provinsi agar pasokan kembali normal dalam dua minggu ke depan.
Sementara itu, petani di lereng gunung melaporkan sebagian besar tanaman mereka membusuk karena genangan air, sehingga panen diperkirakan turun hingga separuh dari biasanya."""

SAME_TOPIC = """Pemerintah Kota Bukit Indah menerima penghargaan inovasi pelayanan publik dari kementerian berkat aplikasi pengaduan warga yang dinilai paling responsif di antara kota sedang.
Wali Kota Bukit Indah, Sari Rahayu, menerima penghargaan tersebut di Jakarta pada Kamis malam bersama sejumlah kepala daerah lain yang juga dinilai berprestasi dalam reformasi birokrasi.
Sari menyebut aplikasi itu memungkinkan warga melaporkan jalan rusak, lampu jalan mati, hingga sampah menumpuk, lalu memantau tindak lanjutnya secara langsung dari telepon genggam.
Sejak diluncurkan dua tahun lalu, aplikasi tersebut telah menerima lebih dari tiga puluh ribu laporan dengan tingkat penyelesaian mencapai sembilan puluh persen dalam waktu tujuh hari.
Ia berharap penghargaan itu mendorong organisasi perangkat daerah untuk terus berinovasi, terutama dalam layanan kesehatan dan pendidikan yang masih banyak dikeluhkan warga.
Pengamat kebijakan publik dari universitas setempat menilai keberhasilan aplikasi itu terletak pada kesediaan pejabat menanggapi keluhan secara terbuka di media sosial."""

# A different story that quotes two background paragraphs of ORIGINAL.
_ORIGINAL_PARAGRAPHS = ORIGINAL.split("\n")
BACKGROUND_SHARING = "\n".join(
    [
        "Ratusan pedagang kaki lima di alun-alun Sukamaju menolak rencana relokasi ke gedung pasar baru yang dinilai terlalu jauh dari keramaian dan sepi pembeli.",
        "Mereka menggelar aksi damai di depan kantor DPRD pada Selasa siang sambil membawa spanduk berisi tuntutan agar pemerintah membatalkan rencana pemindahan tersebut.",
        _ORIGINAL_PARAGRAPHS[4],
        "Koordinator pedagang, Bambang Sutrisno, mengatakan sebagian besar anggotanya sudah berjualan di alun-alun selama lebih dari dua puluh tahun dan menggantungkan hidup dari sana.",
        "Ketua DPRD berjanji memanggil dinas terkait untuk mencari jalan tengah, termasuk kemungkinan penataan ulang lapak tanpa harus memindahkan pedagang ke lokasi baru.",
        _ORIGINAL_PARAGRAPHS[6],
        "Para pedagang mengancam akan kembali turun ke jalan dengan massa yang lebih besar apabila dalam dua pekan tidak ada keputusan yang berpihak kepada mereka.",
        "Dinas perdagangan menyatakan gedung pasar baru telah dilengkapi area parkir luas dan akan dipromosikan agar ramai dikunjungi pembeli dari seluruh kabupaten.",
    ]
)


def variant_dateline_baca_credits() -> str:
    paragraphs = list(_ORIGINAL_PARAGRAPHS)
    paragraphs[0] = "SUKAMAJU – " + paragraphs[0]
    paragraphs.insert(3, "Baca juga: Jalan Provinsi di Sukamaju Mulai Diperbaiki")
    paragraphs.insert(6, "Simak juga: Festival Budaya Sukamaju Digelar Bulan Depan")
    return "\n".join(
        [*paragraphs, "Pewarta: Dimas Prasetyo", "Editor: Lina Marlina", "Bagikan: Facebook Twitter WhatsApp"]
    )


def variant_first_half() -> str:
    return "klikjateng.com – " + "\n".join(_ORIGINAL_PARAGRAPHS[:4])


def variant_rewritten_intro_swapped() -> str:
    paragraphs = list(_ORIGINAL_PARAGRAPHS)
    paragraphs[0] = (
        "Semarang (ANTARA) - Kabar gembira datang dari Sukamaju: kabupaten itu dinobatkan sebagai "
        "daerah dengan pelayanan publik terbaik se-provinsi oleh tim penilai kementerian."
    )
    paragraphs[4], paragraphs[5] = paragraphs[5], paragraphs[4]
    del paragraphs[6]
    return "\n".join(paragraphs)


def variant_word_edits() -> str:
    text = ORIGINAL
    for old, new in [
        ("meraih", "berhasil meraih"),
        ("Senin pagi", "Senin (12/5)"),
        ("kerja keras", "kerja sama"),
        ("empat puluh ribu", "40 ribu"),
        ("berencana", "akan"),
        ("jauh lebih singkat", "lebih cepat"),
    ]:
        text = text.replace(old, new)
    return "Sukamaju, Jurnal Daerah -- " + text


VARIANTS = [variant_dateline_baca_credits, variant_first_half, variant_rewritten_intro_swapped, variant_word_edits]
