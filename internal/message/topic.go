package message

// ValidateTopic checks that name is a legal topic: 1..MaxTopicLen bytes of
// [%|a-zA-Z0-9_-]. Topic names become directory names in the store, so this
// also keeps "..", "/" and NUL out of paths.
func ValidateTopic(name string) error {
	if len(name) == 0 || len(name) > MaxTopicLen {
		return ErrTopicInvalid
	}
	for i := 0; i < len(name); i++ {
		if !topicChar(name[i]) {
			return ErrTopicInvalid
		}
	}
	return nil
}

func topicChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	case c == '%', c == '|', c == '_', c == '-':
		return true
	}
	return false
}
