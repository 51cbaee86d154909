import mipro


def test_all_is_sorted_and_every_name_exists():
    assert mipro.__all__ == sorted(mipro.__all__)
    for name in mipro.__all__:
        assert hasattr(mipro, name), name


def test_exceptions_share_one_root():
    for name in mipro.__all__:
        value = getattr(mipro, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, mipro.MiproError), name
